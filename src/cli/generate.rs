//! `steward generate`: write the synthetic org-10k organisation.

use std::path::Path;

use super::EXIT_OK;
use crate::generate::{OrgSize, write_organisation};

pub(super) fn run(out: &Path, seed: u64, scale: f64) -> anyhow::Result<u8> {
    anyhow::ensure!(
        scale > 0.0 && scale <= 100.0,
        "--scale must be in (0, 100], got {scale}"
    );
    let size = OrgSize::scaled(scale);
    let summary = write_organisation(out, seed, &size)?;
    errln!("{summary}");
    Ok(EXIT_OK)
}
