//! Superset content indexed by every name a manifest may refer to it by (uuid in any letter
//! case, chart name, dashboard slug or title, dataset uuid), built once per pass so resolving
//! 20,000 schedules is a lookup each, not a scan of every chart and dashboard.

use crate::fast_hash::FastMap;

use crate::model::{Catalog, Dataset};

/// Uuids of matching content, in the catalogue's (id) order.
type Matches<'a> = Vec<&'a str>;

/// The catalogue's charts, dashboards and datasets by the names references use.
pub(super) struct ContentIndex<'a> {
    chart_uuids: FastMap<String, Matches<'a>>,
    chart_names: FastMap<&'a str, Matches<'a>>,
    dashboard_uuids: FastMap<String, Matches<'a>>,
    dashboard_slugs: FastMap<&'a str, Matches<'a>>,
    dashboard_titles: FastMap<&'a str, Matches<'a>>,
    dataset_uuids: FastMap<String, &'a Dataset>,
}

impl<'a> ContentIndex<'a> {
    pub(super) fn of(catalog: &'a Catalog) -> ContentIndex<'a> {
        let mut index = ContentIndex {
            chart_uuids: FastMap::default(),
            chart_names: FastMap::default(),
            dashboard_uuids: FastMap::default(),
            dashboard_slugs: FastMap::default(),
            dashboard_titles: FastMap::default(),
            dataset_uuids: FastMap::default(),
        };
        for chart in &catalog.charts {
            let uuid = chart.uuid.as_str();
            index
                .chart_uuids
                .entry(uuid.to_ascii_lowercase())
                .or_default()
                .push(uuid);
            index.chart_names.entry(&chart.name).or_default().push(uuid);
        }
        for board in &catalog.dashboards {
            let uuid = board.uuid.as_str();
            index
                .dashboard_uuids
                .entry(uuid.to_ascii_lowercase())
                .or_default()
                .push(uuid);
            if let Some(slug) = &board.slug {
                index.dashboard_slugs.entry(slug).or_default().push(uuid);
            }
            if let Some(title) = &board.title {
                index.dashboard_titles.entry(title).or_default().push(uuid);
            }
        }
        // The first in key order wins, as a scan of the catalogue's datasets would find it.
        for dataset in catalog.datasets.values() {
            if let Some(uuid) = &dataset.uuid {
                index
                    .dataset_uuids
                    .entry(uuid.to_ascii_lowercase())
                    .or_insert(dataset);
            }
        }
        index
    }

    /// Charts whose uuid is `uuid`, ignoring letter case.
    pub(super) fn charts_by_uuid(&self, uuid: &str) -> Matches<'a> {
        found(self.chart_uuids.get(&uuid.to_ascii_lowercase()))
    }

    /// Charts named exactly `name`.
    pub(super) fn charts_named(&self, name: &str) -> Matches<'a> {
        found(self.chart_names.get(name))
    }

    /// Dashboards whose uuid is `uuid`, ignoring letter case.
    pub(super) fn dashboards_by_uuid(&self, uuid: &str) -> Matches<'a> {
        found(self.dashboard_uuids.get(&uuid.to_ascii_lowercase()))
    }

    /// Dashboards whose slug is exactly `slug`.
    pub(super) fn dashboards_by_slug(&self, slug: &str) -> Matches<'a> {
        found(self.dashboard_slugs.get(slug))
    }

    /// Dashboards titled exactly `title`.
    pub(super) fn dashboards_titled(&self, title: &str) -> Matches<'a> {
        found(self.dashboard_titles.get(title))
    }

    /// The dataset whose uuid is `uuid`, ignoring letter case.
    pub(super) fn dataset_by_uuid(&self, uuid: &str) -> Option<&'a Dataset> {
        self.dataset_uuids.get(&uuid.to_ascii_lowercase()).copied()
    }
}

fn found<'a>(matches: Option<&Matches<'a>>) -> Matches<'a> {
    matches.cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Chart, Dashboard};

    #[test]
    fn references_match_as_the_scans_did_case_blind_uuids_exact_names_in_id_order() {
        let chart = |id, uuid: &str, name: &str| Chart {
            id,
            uuid: uuid.into(),
            name: name.into(),
        };
        let board = |id, uuid: &str, slug: Option<&str>, title: Option<&str>| Dashboard {
            id,
            uuid: uuid.into(),
            slug: slug.map(Into::into),
            title: title.map(Into::into),
        };
        let catalog = Catalog {
            charts: vec![
                chart(1, "AAAA-1", "Revenue"),
                chart(2, "bbbb-2", "Revenue"),
                chart(3, "cccc-3", "revenue"),
            ],
            dashboards: vec![
                board(1, "DDDD-1", Some("ops"), Some("Ops")),
                board(2, "eeee-2", None, Some("Ops")),
            ],
            ..Catalog::default()
        };
        let index = ContentIndex::of(&catalog);
        assert_eq!(index.charts_by_uuid("aaaa-1"), ["AAAA-1"]);
        assert_eq!(index.charts_named("Revenue"), ["AAAA-1", "bbbb-2"]);
        assert_eq!(index.charts_named("REVENUE"), Vec::<&str>::new());
        assert_eq!(index.dashboards_by_uuid("dddd-1"), ["DDDD-1"]);
        assert_eq!(index.dashboards_by_slug("ops"), ["DDDD-1"]);
        assert_eq!(index.dashboards_titled("Ops"), ["DDDD-1", "eeee-2"]);
        assert!(index.dataset_by_uuid("x").is_none());
    }
}
