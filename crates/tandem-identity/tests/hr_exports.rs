//! HR exports as real HR systems write them (fixtures in `tests/fixtures/hr/`, with the
//! documentation each layout follows in its README): other delimiters and encodings, dates per
//! column, status and department words mapped in configuration, and a plan that says which
//! header fed which field and what no mapping knows.

use std::collections::BTreeMap;
use tandem_identity::{Directory, Status, Timestamp, hr};

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hr")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn apply(dir: &mut Directory, mut changes: Vec<tandem_store::DirectoryChange>) {
    let mut seq = dir.last_seq();
    for c in &mut changes {
        seq += 1;
        c.seq = seq;
    }
    dir.apply(&changes).unwrap();
}

/// Plans `file` into an empty directory, applies it and returns both.
fn import(file: &[u8], columns: &hr::HrColumns) -> (hr::Plan, Directory) {
    let mut dir = Directory::default();
    let mut plan = hr::plan(
        &dir,
        file,
        columns,
        "hr:test.csv",
        t("2026-04-10T09:00:00Z"),
    )
    .unwrap();
    apply(&mut dir, std::mem::take(&mut plan.changes));
    (plan, dir)
}

fn german_columns() -> hr::HrColumns {
    hr::HrColumns {
        employee_number: "Personalnummer".into(),
        name: String::new(),
        given_name: "Vorname".into(),
        family_name: "Nachname".into(),
        email: "E-Mail".into(),
        username: "Benutzername".into(),
        upn: String::new(),
        department: "Abteilung".into(),
        manager: "Vorgesetzter".into(),
        title: "Funktion".into(),
        site: "Standort".into(),
        status: "Status".into(),
        hired: "Eintrittsdatum".into(),
        terminated: "Austrittsdatum".into(),
        badge: "Ausweisnummer".into(),
        criticality: String::new(),
        date_format: "%d.%m.%Y".into(),
        status_values: map(&[("aktiv", "active"), ("ausgetreten", "terminated")]),
        department_values: map(&[
            ("10", "Geschäftsführung"),
            ("20", "IT"),
            ("30", "Lager & Disposition"),
        ]),
        ..hr::HrColumns::default()
    }
}

#[test]
fn a_german_export_in_windows_1252_with_semicolons_and_german_words_is_imported() {
    let (plan, dir) = import(&fixture("personal-export-de.csv"), &german_columns());
    assert!(plan.errors.is_empty(), "{:?}", plan.errors);
    assert_eq!(
        (plan.encoding.as_str(), plan.delimiter.as_str()),
        ("windows-1252", ";")
    );
    assert_eq!(plan.new_people, 5, "{:?}", plan.summary);

    // Umlauts and ß decoded from single Windows-1252 bytes.
    let juergen = dir.person("100017").unwrap();
    assert_eq!(juergen.name, "Jürgen Müller");
    assert_eq!(juergen.title.as_deref(), Some("Geschäftsführer"));
    // Department codes mapped to names; `aktiv` to active; dates read day first.
    assert_eq!(juergen.department.as_deref(), Some("Geschäftsführung"));
    assert_eq!(juergen.status, Status::Active);
    assert_eq!(juergen.hired, Some("2009-04-01".parse().unwrap()));
    let kaethe = dir.person("100233").unwrap();
    assert_eq!(kaethe.name, "Käthe Groß");
    assert_eq!(kaethe.department.as_deref(), Some("Lager & Disposition"));
    assert_eq!(kaethe.manager.as_deref(), Some("100017"));
    // `ausgetreten` with a leaving date of 31.03.2026: terminated from that day on.
    let bjoern = "100412";
    assert_eq!(
        dir.person_at(bjoern, t("2026-03-30T12:00:00Z"))
            .unwrap()
            .status,
        Status::Active
    );
    let gone = dir.person_at(bjoern, t("2026-03-31T00:01:00Z")).unwrap();
    assert_eq!(gone.status, Status::Terminated);
    assert_eq!(gone.terminated_at, Some(t("2026-03-31T00:00:00Z")));
    // `Aktiv` matches `aktiv` ignoring case.
    assert_eq!(dir.person("100688").unwrap().status, Status::Active);

    // An unknown status (`ruhend`) does not reject the row: the rest is applied, the status
    // stays what it was (a new person starts active), and the plan names value and line.
    let zoe = dir.person("100519").unwrap();
    assert_eq!(zoe.name, "Zoë Schäfer");
    assert_eq!(zoe.department.as_deref(), Some("IT"));
    assert_eq!(zoe.status, Status::Active);
    // An unknown department code (`99`) likewise.
    assert_eq!(dir.person("100688").unwrap().department, None);
    let unmapped: Vec<(&str, &str, &[u64])> = plan
        .unmapped
        .iter()
        .map(|u| (u.field.as_str(), u.value.as_str(), &u.lines[..]))
        .collect();
    assert_eq!(
        unmapped,
        [
            ("department", "99", &[6][..]),
            ("status", "ruhend", &[5][..])
        ]
    );
    let described = plan.describe_file();
    assert!(
        described.contains(&"unmapped status `ruhend` on line 5: status left as it was".to_owned()),
        "{described:#?}"
    );
    assert!(
        described.contains(&"employee_number ← \"Personalnummer\"".to_owned()),
        "{described:#?}"
    );
    assert!(
        described.contains(&"not used: \"Kostenstelle\"".to_owned()),
        "{described:#?}"
    );
}

#[test]
fn an_unmapped_status_leaves_an_existing_persons_status_as_it_was() {
    let columns = german_columns();
    let mut dir = Directory::default();
    let first = "Personalnummer;Vorname;Nachname;Status\n7;Eva;Berg;ausgetreten\n";
    let plan = hr::plan(
        &dir,
        first.as_bytes(),
        &columns,
        "hr:a",
        t("2026-01-01T00:00:00Z"),
    )
    .unwrap();
    apply(&mut dir, plan.changes);
    assert_eq!(dir.person("7").unwrap().status, Status::Terminated);
    // A later file with a word nobody mapped changes the name but not the status.
    let later = "Personalnummer;Vorname;Nachname;Status\n7;Eva;Berg-Lund;ruhend\n";
    let plan = hr::plan(
        &dir,
        later.as_bytes(),
        &columns,
        "hr:b",
        t("2026-02-01T00:00:00Z"),
    )
    .unwrap();
    assert!(plan.errors.is_empty(), "{:?}", plan.errors);
    assert_eq!(plan.unmapped[0].lines, [2]);
    apply(&mut dir, plan.changes);
    let eva = dir.person("7").unwrap();
    assert_eq!(
        (eva.name.as_str(), eva.status),
        ("Eva Berg-Lund", Status::Terminated)
    );
}

#[test]
fn a_successfactors_user_data_file_with_its_label_row_is_imported() {
    let columns = hr::HrColumns {
        employee_number: "USERID".into(),
        name: String::new(),
        given_name: "FIRSTNAME".into(),
        family_name: "LASTNAME".into(),
        email: "EMAIL".into(),
        username: "USERNAME".into(),
        upn: String::new(),
        department: "DEPARTMENT".into(),
        manager: "MANAGER".into(),
        title: "TITLE".into(),
        site: "LOCATION".into(),
        status: "STATUS".into(),
        hired: "HIREDATE".into(),
        terminated: String::new(),
        badge: String::new(),
        criticality: String::new(),
        date_format: "%m/%d/%Y".into(),
        // SuccessFactors' `inactive` is a leaver (Tandem's own `inactive` means suspended).
        status_values: map(&[("inactive", "terminated")]),
        skip_rows: 1,
        ..hr::HrColumns::default()
    };
    let (plan, dir) = import(&fixture("successfactors-user-data-file.csv"), &columns);
    assert!(plan.errors.is_empty(), "{:?}", plan.errors);
    assert_eq!(plan.rows, 4, "the label row is not a person");
    assert!(dir.person("USERID").is_none());
    assert_eq!(
        (plan.encoding.as_str(), plan.delimiter.as_str()),
        ("utf-8", ",")
    );
    let maria = dir.person("mlopez").unwrap();
    assert_eq!(maria.name, "Maria Lopez");
    assert_eq!(maria.hired, Some("2019-09-21".parse().unwrap()));
    assert_eq!(maria.manager.as_deref(), Some("cgrant"));
    assert_eq!(maria.home_site.as_deref(), Some("Austin"));
    assert_eq!(dir.person("tnguyen").unwrap().status, Status::Terminated);
    assert!(plan.unmapped.is_empty(), "{:?}", plan.unmapped);
    assert!(
        plan.missing_columns.is_empty(),
        "{:?}",
        plan.missing_columns
    );
    assert!(
        plan.unused_headers.contains(&"EMPID".to_owned()),
        "{:?}",
        plan.unused_headers
    );
}

#[test]
fn a_bamboohr_report_maps_employment_statuses_and_says_which_headers_matched_only_ignoring_case() {
    let columns = hr::HrColumns {
        employee_number: "Employee #".into(),
        name: String::new(),
        given_name: "First Name".into(),
        family_name: "Last Name".into(),
        email: "Work Email".into(),
        username: String::new(),
        upn: String::new(),
        // Left at its default, `department`: the report says `Department`.
        manager: "Supervisor EID".into(),
        title: "Job Title".into(),
        site: "Location".into(),
        status: "Employment Status".into(),
        hired: "Hire Date".into(),
        terminated: "Termination Date".into(),
        badge: String::new(),
        criticality: String::new(),
        date_format: "%m/%d/%Y".into(),
        status_values: map(&[
            ("Full-Time", "active"),
            ("Part-Time", "active"),
            ("Terminated", "terminated"),
            ("Leave of absence", "on_leave"),
        ]),
        ..hr::HrColumns::default()
    };
    let (plan, dir) = import(&fixture("bamboohr-custom-report.csv"), &columns);
    assert!(plan.errors.is_empty(), "{:?}", plan.errors);
    assert_eq!(plan.new_people, 5);
    assert_eq!(dir.person("3").unwrap().status, Status::OnLeave);
    let sam = dir.person_at("4", t("2026-02-27T00:01:00Z")).unwrap();
    assert_eq!(sam.status, Status::Terminated);
    assert_eq!(
        dir.person("5").unwrap().title.as_deref(),
        Some("Analyst, FP&A")
    );
    // `Contractor` is nobody's mapping: listed, the row otherwise imported.
    assert_eq!(plan.unmapped.len(), 1);
    assert_eq!(
        (plan.unmapped[0].value.as_str(), &plan.unmapped[0].lines[..]),
        ("Contractor", &[6][..])
    );
    assert_eq!(
        dir.person("5").unwrap().department.as_deref(),
        Some("Finance")
    );
    // The default `department` fed from `Department` is said, not silent.
    let department = plan
        .columns
        .iter()
        .find(|c| c.field == "department")
        .unwrap();
    assert_eq!(
        (department.header.as_str(), department.ignoring_case),
        ("Department", true)
    );
    assert!(
        plan.describe_file()
            .contains(&"department ← \"Department\" (matched ignoring case)".to_owned()),
        "{:#?}",
        plan.describe_file()
    );
    let email = plan.columns.iter().find(|c| c.field == "email").unwrap();
    assert!(!email.ignoring_case);
}

#[test]
fn a_workday_report_with_a_byte_order_mark_lists_the_configured_columns_it_lacks() {
    let columns = hr::HrColumns {
        employee_number: "Employee_ID".into(),
        name: "Full_Name".into(),
        email: "Email".into(),
        department: "Team_Name".into(),
        manager: "Manager_ID".into(),
        site: "Location".into(),
        hired: "Start_Date".into(),
        terminated: "Termination_Date".into(),
        ..hr::HrColumns::default()
    };
    let (plan, dir) = import(&fixture("workday-custom-report.csv"), &columns);
    assert!(plan.errors.is_empty(), "{:?}", plan.errors);
    assert_eq!(plan.encoding, "utf-8 with byte-order mark");
    let first = &plan.columns[0];
    assert_eq!(
        (
            first.field.as_str(),
            first.header.as_str(),
            first.ignoring_case
        ),
        ("employee_number", "Employee_ID", false)
    );
    assert_eq!(dir.person("21002").unwrap().name, "Henrik Sørensen");
    assert_eq!(
        dir.person_at("21003", t("2026-01-31T00:01:00Z"))
            .unwrap()
            .status,
        Status::Terminated
    );
    // Columns left at their defaults that this report does not have are listed.
    let missing: Vec<&str> = plan
        .missing_columns
        .iter()
        .map(|m| m.field.as_str())
        .collect();
    assert_eq!(
        missing,
        [
            "given_name",
            "family_name",
            "username",
            "upn",
            "title",
            "status",
            "badge",
            "criticality"
        ]
    );
    assert!(
        plan.describe_file()
            .contains(&"status: no column \"status\" in the file".to_owned())
    );
}

#[test]
fn dates_can_have_a_format_per_column() {
    let columns = hr::HrColumns {
        date_format: "%Y-%m-%d".into(),
        date_formats: map(&[("terminated", "%m/%d/%Y")]),
        ..hr::HrColumns::default()
    };
    let file = "employee_number,name,hired,terminated\nE1,Ann Lee,2020-01-02,03/04/2026\n";
    let (plan, dir) = import(file.as_bytes(), &columns);
    assert!(plan.errors.is_empty(), "{:?}", plan.errors);
    let ann = dir.person_at("E1", t("2026-03-04T00:01:00Z")).unwrap();
    assert_eq!(ann.hired, Some("2020-01-02".parse().unwrap()));
    assert_eq!(ann.terminated_at, Some(t("2026-03-04T00:00:00Z")));
}

#[test]
fn explicit_delimiter_and_encoding_are_used_and_a_wrong_encoding_is_a_clear_error() {
    let latin1 = encoding_rs::WINDOWS_1252
        .encode("employee_number|name\nE1|Åse Næss\n")
        .0
        .into_owned();
    let columns = hr::HrColumns {
        delimiter: "|".into(),
        encoding: "latin-1".into(),
        ..hr::HrColumns::default()
    };
    let (plan, dir) = import(&latin1, &columns);
    assert_eq!(plan.delimiter, "|");
    assert_eq!(dir.person("E1").unwrap().name, "Åse Næss");

    let utf8_only = hr::HrColumns {
        delimiter: "|".into(),
        encoding: "utf-8".into(),
        ..hr::HrColumns::default()
    };
    let err = hr::plan(
        &Directory::default(),
        &latin1,
        &utf8_only,
        "hr:test.csv",
        t("2026-04-10T09:00:00Z"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("is not UTF-8 (line 2)"), "{err}");

    // A tab-separated file is recognised from its header.
    let (plan, dir) = import(
        "employee_number\tname\nE2\tBo Ek\n".as_bytes(),
        &hr::HrColumns::default(),
    );
    assert_eq!(plan.delimiter, "tab");
    assert_eq!(dir.person("E2").unwrap().name, "Bo Ek");
}

#[test]
fn a_mapping_to_something_that_is_not_a_status_is_refused() {
    let columns = hr::HrColumns {
        status_values: map(&[("aktiv", "working")]),
        ..hr::HrColumns::default()
    };
    let err = columns.check().unwrap_err();
    assert!(err.contains("`aktiv` maps to `working`"), "{err}");
    let bad_format = hr::HrColumns {
        date_formats: map(&[("birthday", "%d.%m.%Y")]),
        ..hr::HrColumns::default()
    };
    assert!(bad_format.check().unwrap_err().contains("`birthday`"));
}
