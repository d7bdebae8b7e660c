//! Who may do what: roles, the permissions each carries, and the one table that says which
//! permission every route needs.
//!
//! Every route is declared in [`crate::routes`] with an [`Access`]; the router is built from
//! that table and a layer checks the permission before the handler runs, so a handler cannot
//! forget its check, and the table is what the access test walks (every route, every role,
//! no one). Roles are deliberately few and named after the people in the organisation who
//! use Tandem, not after the pages: a new page picks an existing permission.

use serde::Serialize;
use std::fmt;

pub use tandem_model::Department;

/// A user's or token's role, stored as text (`admin`, `soc_analyst`, `responder:hr`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything, including users, tokens, sources and rule directories.
    Admin,
    /// Security operations: events, findings, people, places, sources; switches rules.
    SocAnalyst,
    /// Guards and the control room: the same views as an analyst, without changing rules.
    PhysicalSecurity,
    /// HR, Legal, Facilities, …: the findings and people their cases are about, not raw logs.
    Responder(Department),
    /// Auditors and leadership: every view including the audit log; changes nothing.
    Auditor,
    /// An identity provider's SCIM client: provisions people, sees nothing.
    Provisioner,
}

impl Role {
    /// Every role, for the settings page and the access test.
    pub fn all() -> Vec<Role> {
        let mut v = vec![
            Role::Admin,
            Role::SocAnalyst,
            Role::PhysicalSecurity,
            Role::Auditor,
            Role::Provisioner,
        ];
        v.extend(Department::ALL.map(Role::Responder));
        v
    }

    /// Reads a stored role. Unknown text is `None`: such an account may sign in to nothing,
    /// rather than getting some default power.
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "admin" => Role::Admin,
            // `analyst` is what earlier versions stored.
            "soc_analyst" | "analyst" => Role::SocAnalyst,
            "physical_security" => Role::PhysicalSecurity,
            "auditor" | "viewer" => Role::Auditor,
            "scim" => Role::Provisioner,
            other => Role::Responder(Department::parse(other.strip_prefix("responder:")?)?),
        })
    }

    /// What a person reads on the settings page.
    pub fn label(self) -> String {
        match self {
            Role::Admin => "Administrator".into(),
            Role::SocAnalyst => "SOC analyst".into(),
            Role::PhysicalSecurity => "Physical-security operator".into(),
            Role::Responder(d) => format!("{} responder", d.label()),
            Role::Auditor => "Auditor / leadership (read-only)".into(),
            Role::Provisioner => "SCIM provisioning (identity provider)".into(),
        }
    }

    /// The department whose incidents alone this role sees: a responder sees only incidents
    /// with a task for their department; every other role that may view incidents sees all.
    pub fn incident_scope(self) -> Option<Department> {
        match self {
            Role::Responder(d) => Some(d),
            _ => None,
        }
    }

    pub fn permits(self, p: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => true,
            Role::SocAnalyst => matches!(
                p,
                SearchEvents
                    | ViewFindings
                    | ViewPeople
                    | ViewPlaces
                    | ViewSources
                    | ViewRules
                    | ManageRules
                    | ViewAlerts
                    | TriageAlerts
                    | ViewIncidents
                    | WorkTasks
                    | ManageIncidents
                    | ViewPlaybooks
                    | ViewAlarms
                    | HandleAlarms
                    | ProposeActions
                    | ViewKpis
                    | ViewCommittee
            ),
            // The control room keeps its own maps: floor plans and where doors, readers and
            // cameras are on them.
            Role::PhysicalSecurity => matches!(
                p,
                SearchEvents
                    | ViewFindings
                    | ViewPeople
                    | ViewPlaces
                    | ViewSources
                    | ViewRules
                    | EditMaps
                    | ViewAlerts
                    | TriageAlerts
                    | ViewIncidents
                    | WorkTasks
                    | ManageIncidents
                    | ViewPlaybooks
                    | ViewAlarms
                    | HandleAlarms
                    | ProposeActions
                    | ViewKpis
                    | ViewCommittee
            ),
            // Facilities owns the doors and zones: it opens their pages, door state, the
            // floor plans and the alarms, as the control room does (without moving anything
            // on them or acting on an alarm: the control room forwards what it needs).
            Role::Responder(Department::Facilities) => matches!(
                p,
                ViewFindings
                    | ViewPeople
                    | ViewPlaces
                    | ViewIncidents
                    | WorkTasks
                    | ViewPlaybooks
                    | ViewAlarms
                    | ViewKpis
                    | ViewCommittee
            ),
            // Department heads read their department's KPIs (`incident_scope`).
            Role::Responder(_) => matches!(
                p,
                ViewFindings
                    | ViewPeople
                    | ViewIncidents
                    | WorkTasks
                    | ViewPlaybooks
                    | ViewKpis
                    | ViewCommittee
            ),
            Role::Auditor => matches!(
                p,
                SearchEvents
                    | ViewFindings
                    | ViewPeople
                    | ViewPlaces
                    | ViewSources
                    | ViewRules
                    | ViewAudit
                    | ViewDeliveries
                    | ViewAlerts
                    | ViewIncidents
                    | ViewPlaybooks
                    | ViewAlarms
                    | ViewKpis
                    | ViewCommittee
                    | ViewCompliance
            ),
            Role::Provisioner => p == ProvisionIdentities,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::Admin => f.write_str("admin"),
            Role::SocAnalyst => f.write_str("soc_analyst"),
            Role::PhysicalSecurity => f.write_str("physical_security"),
            Role::Responder(d) => write!(f, "responder:{}", d.code()),
            Role::Auditor => f.write_str("auditor"),
            Role::Provisioner => f.write_str("scim"),
        }
    }
}

/// One thing a role may do. Views are separate from changes, so read-only roles are exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Search and read events, the live monitor, metrics and store status.
    SearchEvents,
    ViewFindings,
    /// People, their accounts, badges, devices and timelines.
    ViewPeople,
    ViewPlaces,
    /// Upload floor plans and place doors, readers and cameras on them (audited).
    EditMaps,
    /// Source health, dead letters and directory gaps.
    ViewSources,
    /// Register sources and issue their keys.
    ManageSources,
    ViewRules,
    /// Switch rules on and off, reload rule directories.
    ManageRules,
    /// Import HR files and place/device records.
    ImportDirectory,
    /// Users, roles and API tokens.
    ManageUsers,
    /// Read and verify the audit log.
    ViewAudit,
    /// Change how this server runs: the rule directories it reads from its own disk.
    ConfigureServer,
    /// SCIM provisioning from an identity provider.
    ProvisionIdentities,
    /// The alert queue and an alert's page.
    ViewAlerts,
    /// Acknowledge, assign, close alerts; add and end allow-list exceptions.
    TriageAlerts,
    /// Incidents: every incident, or (for responders) those with tasks for their department.
    ViewIncidents,
    /// Take, comment on, attach evidence to and complete tasks; comment on incidents.
    WorkTasks,
    /// Open, change, merge and close incidents; switch their playbook; write reviews.
    ManageIncidents,
    /// Playbooks: view, validate.
    ViewPlaybooks,
    /// The alarm queue: door alarms, cameras offline, physical findings.
    ViewAlarms,
    /// Acknowledge, snooze, forward and clear alarms.
    HandleAlarms,
    /// Propose response actions on incidents, preview them (dry run), and approve or refuse
    /// the ones proposed by someone else when the action's definition names one's role as
    /// an approver (four eyes: never one's own).
    ProposeActions,
    /// The shared KPIs: dashboards, their CSV, the API and the ATT&CK layer (responders: of
    /// their department's incidents).
    ViewKpis,
    /// The notifications' delivery log and channels (secrets shown only as set or not).
    ViewDeliveries,
    /// Send a dead notification again.
    RetryDeliveries,
    /// The security committee: members, the next chair, meetings, decisions, action items
    /// and the briefing pack (leadership, department heads, auditors, the SOC).
    ViewCommittee,
    /// Set up the committee's members and rotation, and record meetings, decisions and
    /// action items as the chair may (administrators; the chair is a person, checked by the
    /// committee's handlers, not a role).
    ManageCommittee,
    /// Compliance: the gaps page, each control's Statement of Applicability and evidence
    /// history, and the auditor's export (auditors read all of it).
    ViewCompliance,
    /// Edit the Statement of Applicability and run evidence now (audited).
    ManageCompliance,
}

/// How a route is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: the health check, the login page, static files.
    Public,
    /// A source's own ingest key, checked by the ingest handler against that source.
    SourceKey,
    /// A webhook signature over the body, checked by the webhook handler.
    Signed,
    /// A signed-in user or API token whose role carries the permission.
    Needs(Permission),
    /// Any signed-in user or token (signing out, one's own session).
    SignedIn,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Testing a rule reads stored events, and its route asks only for [`Permission::ViewRules`].
    #[test]
    fn whoever_views_rules_may_search_events() {
        for role in Role::all() {
            if role.permits(Permission::ViewRules) {
                assert!(role.permits(Permission::SearchEvents), "{role}");
            }
        }
    }

    #[test]
    fn administrators_and_the_control_room_edit_maps() {
        let allowed: Vec<Role> = Role::all()
            .into_iter()
            .filter(|r| r.permits(Permission::EditMaps))
            .collect();
        assert_eq!(allowed, [Role::Admin, Role::PhysicalSecurity]);
        for role in Role::all() {
            if role.permits(Permission::EditMaps) {
                assert!(role.permits(Permission::ViewPlaces), "{role}");
            }
        }
    }

    #[test]
    fn of_the_responders_only_facilities_views_places() {
        for d in Department::ALL {
            let role = Role::Responder(d);
            assert_eq!(
                role.permits(Permission::ViewPlaces),
                d == Department::Facilities,
                "{role}"
            );
            assert!(!role.permits(Permission::EditMaps), "{role}");
            assert!(!role.permits(Permission::SearchEvents), "{role}");
        }
    }

    #[test]
    fn the_control_room_acts_on_alarms_and_facilities_sees_them() {
        let acting: Vec<Role> = Role::all()
            .into_iter()
            .filter(|r| r.permits(Permission::HandleAlarms))
            .collect();
        assert_eq!(
            acting,
            [Role::Admin, Role::SocAnalyst, Role::PhysicalSecurity]
        );
        for role in Role::all() {
            if role.permits(Permission::HandleAlarms) {
                assert!(role.permits(Permission::ViewAlarms), "{role}");
            }
        }
        assert!(Role::Responder(Department::Facilities).permits(Permission::ViewAlarms));
        assert!(!Role::Responder(Department::Hr).permits(Permission::ViewAlarms));
    }

    #[test]
    fn everyone_who_views_incidents_reads_the_kpis_and_the_provisioner_does_not() {
        for role in Role::all() {
            assert_eq!(
                role.permits(Permission::ViewKpis),
                role.permits(Permission::ViewIncidents),
                "{role}"
            );
        }
        assert!(Role::Auditor.permits(Permission::ViewKpis));
        assert!(!Role::Provisioner.permits(Permission::ViewKpis));
    }

    #[test]
    fn everyone_who_reads_the_kpis_reads_the_committee_and_administrators_manage_it() {
        for role in Role::all() {
            assert_eq!(
                role.permits(Permission::ViewCommittee),
                role.permits(Permission::ViewKpis),
                "{role}"
            );
        }
        let managing: Vec<Role> = Role::all()
            .into_iter()
            .filter(|r| r.permits(Permission::ManageCommittee))
            .collect();
        assert_eq!(managing, [Role::Admin]);
        assert!(Role::Auditor.permits(Permission::ViewCommittee));
        assert!(Role::Responder(Department::Hr).permits(Permission::ViewCommittee));
    }

    #[test]
    fn auditors_read_compliance_and_only_administrators_change_it() {
        let viewing: Vec<Role> = Role::all()
            .into_iter()
            .filter(|r| r.permits(Permission::ViewCompliance))
            .collect();
        assert_eq!(viewing, [Role::Admin, Role::Auditor]);
        let managing: Vec<Role> = Role::all()
            .into_iter()
            .filter(|r| r.permits(Permission::ManageCompliance))
            .collect();
        assert_eq!(managing, [Role::Admin]);
    }

    #[test]
    fn only_administrators_configure_the_server() {
        let allowed: Vec<Role> = Role::all()
            .into_iter()
            .filter(|r| r.permits(Permission::ConfigureServer))
            .collect();
        assert_eq!(allowed, [Role::Admin]);
    }
}
