//! `steward render-config`: the `superset_config.py` lines for the declared
//! `ReportConfiguration`.

use super::{EXIT_INVALID, EXIT_OK};
use crate::diagnostic::render_text;
use crate::manifests::ManifestCache;
use crate::resources::Resource;

pub(super) fn run(paths: &[String], cache: &ManifestCache) -> anyhow::Result<u8> {
    let set = super::validated(paths, cache);
    for d in &set.diagnostics {
        let line = d.location.as_ref().and_then(|l| set.source_line(l));
        errln!("{}", render_text(d, line));
    }
    if set.has_errors() {
        return Ok(EXIT_INVALID);
    }
    let configs: Vec<_> = set
        .objects
        .iter()
        .filter_map(|o| match &o.resource {
            Resource::Config(c) => {
                let file = o.source.map_or("", |s| set.sources[s].name.as_str());
                Some((c, file, o.resource.id().to_string()))
            }
            _ => None,
        })
        .collect();
    let Some((config, file, id)) = configs.first() else {
        errln!(
            "error: no ReportConfiguration is declared in {}",
            paths.join(" ")
        );
        errln!("  = hint: declare one `kind: ReportConfiguration` (see examples/org/config.yaml)");
        return Ok(EXIT_INVALID);
    };
    out!(
        "{}",
        crate::superset_config::render(&config.spec, &format!("{id} ({file})"))
    );
    Ok(EXIT_OK)
}
