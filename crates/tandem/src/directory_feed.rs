//! Feeding the simulated organisation into the identity directory through the same feeds a
//! real site uses: the HR CSV export and a places/devices file.

use anyhow::Context;
use tandem_identity::records::RecordsFile;
use tandem_identity::{Identity, hr};
use tandem_sim::Org;

/// The org's places and devices as a records file (what `tandem directory import` reads).
pub fn org_records(org: &Org) -> RecordsFile {
    serde_json::from_value(org.directory_records())
        .expect("the simulated organisation's records follow the records-file format")
}

/// Imports the org's HR export and places/devices into `identity`.
pub fn load_org(identity: &Identity, org: &Org) -> anyhow::Result<(usize, usize)> {
    let now = chrono::Utc::now();
    let records = org_records(org);
    let plan = tandem_identity::records::plan(
        &identity.snapshot(),
        &records,
        "records:simulated-org",
        now,
    )
    .context("simulated places and devices")?;
    let n_records = plan.changes.len();
    identity.commit(plan.changes)?;
    let plan = hr::plan(
        &identity.snapshot(),
        org.hr_csv().as_bytes(),
        &hr::HrColumns::default(),
        "hr:simulated-org.csv",
        now,
    )
    .context("simulated HR export")?;
    anyhow::ensure!(
        plan.errors.is_empty(),
        "simulated HR export: {:?}",
        plan.errors
    );
    let n_people = plan.new_people + plan.updated_people;
    identity.commit(plan.changes)?;
    Ok((n_people, n_records))
}
