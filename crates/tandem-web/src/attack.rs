//! Tags in words: MITRE ATT&CK tactics and techniques by name (`attack.t1110` → "T1110 Brute
//! Force"), Tandem's physical-security tags, and the other namespaces Sigma rules use.
//!
//! The table is vendored, not fetched: the 14 Enterprise tactics, the Enterprise techniques
//! the shipped rules and SigmaHQ's rules tag (top level), and the sub-techniques SigmaHQ tags
//! most. A sub-technique not listed is named after its technique ("T1059.010, a kind of
//! Command and Scripting Interpreter"); a technique not listed keeps its number only.

/// Enterprise tactics: Sigma's tag spelling (`initial-access`; `_` is accepted too), id, name.
const TACTICS: &[(&str, &str, &str)] = &[
    ("reconnaissance", "TA0043", "Reconnaissance"),
    ("resource-development", "TA0042", "Resource Development"),
    ("initial-access", "TA0001", "Initial Access"),
    ("execution", "TA0002", "Execution"),
    ("persistence", "TA0003", "Persistence"),
    ("privilege-escalation", "TA0004", "Privilege Escalation"),
    ("defense-evasion", "TA0005", "Defense Evasion"),
    ("credential-access", "TA0006", "Credential Access"),
    ("discovery", "TA0007", "Discovery"),
    ("lateral-movement", "TA0008", "Lateral Movement"),
    ("collection", "TA0009", "Collection"),
    ("command-and-control", "TA0011", "Command and Control"),
    ("exfiltration", "TA0010", "Exfiltration"),
    ("impact", "TA0040", "Impact"),
];

/// Techniques and sub-techniques by id (upper case), sorted for binary search.
const TECHNIQUES: &[(&str, &str)] = &[
    ("T1001", "Data Obfuscation"),
    ("T1003", "OS Credential Dumping"),
    ("T1003.001", "LSASS Memory"),
    ("T1003.002", "Security Account Manager"),
    ("T1003.003", "NTDS"),
    ("T1003.006", "DCSync"),
    ("T1005", "Data from Local System"),
    ("T1007", "System Service Discovery"),
    ("T1008", "Fallback Channels"),
    ("T1010", "Application Window Discovery"),
    ("T1012", "Query Registry"),
    ("T1014", "Rootkit"),
    ("T1016", "System Network Configuration Discovery"),
    ("T1018", "Remote System Discovery"),
    ("T1020", "Automated Exfiltration"),
    ("T1021", "Remote Services"),
    ("T1021.001", "Remote Desktop Protocol"),
    ("T1021.002", "SMB/Windows Admin Shares"),
    ("T1021.004", "SSH"),
    ("T1021.006", "Windows Remote Management"),
    ("T1025", "Data from Removable Media"),
    ("T1027", "Obfuscated Files or Information"),
    ("T1033", "System Owner/User Discovery"),
    ("T1036", "Masquerading"),
    ("T1036.005", "Match Legitimate Name or Location"),
    ("T1037", "Boot or Logon Initialization Scripts"),
    ("T1039", "Data from Network Shared Drive"),
    ("T1040", "Network Sniffing"),
    ("T1041", "Exfiltration Over C2 Channel"),
    ("T1046", "Network Service Discovery"),
    ("T1047", "Windows Management Instrumentation"),
    ("T1048", "Exfiltration Over Alternative Protocol"),
    ("T1049", "System Network Connections Discovery"),
    ("T1052", "Exfiltration Over Physical Medium"),
    ("T1053", "Scheduled Task/Job"),
    ("T1053.005", "Scheduled Task"),
    ("T1055", "Process Injection"),
    ("T1056", "Input Capture"),
    ("T1057", "Process Discovery"),
    ("T1059", "Command and Scripting Interpreter"),
    ("T1059.001", "PowerShell"),
    ("T1059.003", "Windows Command Shell"),
    ("T1059.004", "Unix Shell"),
    ("T1059.005", "Visual Basic"),
    ("T1059.006", "Python"),
    ("T1059.007", "JavaScript"),
    ("T1068", "Exploitation for Privilege Escalation"),
    ("T1069", "Permission Groups Discovery"),
    ("T1070", "Indicator Removal"),
    ("T1070.001", "Clear Windows Event Logs"),
    ("T1070.004", "File Deletion"),
    ("T1071", "Application Layer Protocol"),
    ("T1072", "Software Deployment Tools"),
    ("T1074", "Data Staged"),
    ("T1078", "Valid Accounts"),
    ("T1078.001", "Default Accounts"),
    ("T1078.002", "Domain Accounts"),
    ("T1078.003", "Local Accounts"),
    ("T1078.004", "Cloud Accounts"),
    ("T1082", "System Information Discovery"),
    ("T1083", "File and Directory Discovery"),
    ("T1087", "Account Discovery"),
    ("T1090", "Proxy"),
    ("T1091", "Replication Through Removable Media"),
    ("T1095", "Non-Application Layer Protocol"),
    ("T1098", "Account Manipulation"),
    ("T1102", "Web Service"),
    ("T1104", "Multi-Stage Channels"),
    ("T1105", "Ingress Tool Transfer"),
    ("T1106", "Native API"),
    ("T1110", "Brute Force"),
    ("T1110.001", "Password Guessing"),
    ("T1110.002", "Password Cracking"),
    ("T1110.003", "Password Spraying"),
    ("T1110.004", "Credential Stuffing"),
    ("T1111", "Multi-Factor Authentication Interception"),
    ("T1112", "Modify Registry"),
    ("T1113", "Screen Capture"),
    ("T1114", "Email Collection"),
    ("T1115", "Clipboard Data"),
    ("T1119", "Automated Collection"),
    ("T1120", "Peripheral Device Discovery"),
    ("T1123", "Audio Capture"),
    ("T1124", "System Time Discovery"),
    ("T1125", "Video Capture"),
    ("T1127", "Trusted Developer Utilities Proxy Execution"),
    ("T1129", "Shared Modules"),
    ("T1132", "Data Encoding"),
    ("T1133", "External Remote Services"),
    ("T1134", "Access Token Manipulation"),
    ("T1135", "Network Share Discovery"),
    ("T1136", "Create Account"),
    ("T1136.001", "Local Account"),
    ("T1136.002", "Domain Account"),
    ("T1136.003", "Cloud Account"),
    ("T1137", "Office Application Startup"),
    ("T1140", "Deobfuscate/Decode Files or Information"),
    ("T1176", "Browser Extensions"),
    ("T1185", "Browser Session Hijacking"),
    ("T1187", "Forced Authentication"),
    ("T1189", "Drive-by Compromise"),
    ("T1190", "Exploit Public-Facing Application"),
    ("T1195", "Supply Chain Compromise"),
    ("T1197", "BITS Jobs"),
    ("T1199", "Trusted Relationship"),
    ("T1200", "Hardware Additions"),
    ("T1201", "Password Policy Discovery"),
    ("T1202", "Indirect Command Execution"),
    ("T1203", "Exploitation for Client Execution"),
    ("T1204", "User Execution"),
    ("T1205", "Traffic Signaling"),
    ("T1207", "Rogue Domain Controller"),
    ("T1210", "Exploitation of Remote Services"),
    ("T1211", "Exploitation for Defense Evasion"),
    ("T1212", "Exploitation for Credential Access"),
    ("T1216", "System Script Proxy Execution"),
    ("T1217", "Browser Information Discovery"),
    ("T1218", "System Binary Proxy Execution"),
    ("T1218.005", "Mshta"),
    ("T1218.010", "Regsvr32"),
    ("T1218.011", "Rundll32"),
    ("T1219", "Remote Access Software"),
    ("T1220", "XSL Script Processing"),
    ("T1221", "Template Injection"),
    ("T1222", "File and Directory Permissions Modification"),
    ("T1482", "Domain Trust Discovery"),
    ("T1484", "Domain or Tenant Policy Modification"),
    ("T1485", "Data Destruction"),
    ("T1486", "Data Encrypted for Impact"),
    ("T1489", "Service Stop"),
    ("T1490", "Inhibit System Recovery"),
    ("T1491", "Defacement"),
    ("T1495", "Firmware Corruption"),
    ("T1496", "Resource Hijacking"),
    ("T1497", "Virtualization/Sandbox Evasion"),
    ("T1498", "Network Denial of Service"),
    ("T1499", "Endpoint Denial of Service"),
    ("T1505", "Server Software Component"),
    ("T1505.003", "Web Shell"),
    ("T1518", "Software Discovery"),
    ("T1525", "Implant Internal Image"),
    ("T1526", "Cloud Service Discovery"),
    ("T1528", "Steal Application Access Token"),
    ("T1529", "System Shutdown/Reboot"),
    ("T1530", "Data from Cloud Storage"),
    ("T1531", "Account Access Removal"),
    ("T1534", "Internal Spearphishing"),
    ("T1537", "Transfer Data to Cloud Account"),
    ("T1539", "Steal Web Session Cookie"),
    ("T1542", "Pre-OS Boot"),
    ("T1543", "Create or Modify System Process"),
    ("T1543.003", "Windows Service"),
    ("T1546", "Event Triggered Execution"),
    ("T1547", "Boot or Logon Autostart Execution"),
    ("T1547.001", "Registry Run Keys / Startup Folder"),
    ("T1548", "Abuse Elevation Control Mechanism"),
    ("T1548.002", "Bypass User Account Control"),
    ("T1548.003", "Sudo and Sudo Caching"),
    ("T1550", "Use Alternate Authentication Material"),
    ("T1550.002", "Pass the Hash"),
    ("T1550.003", "Pass the Ticket"),
    ("T1552", "Unsecured Credentials"),
    ("T1553", "Subvert Trust Controls"),
    ("T1554", "Compromise Host Software Binary"),
    ("T1555", "Credentials from Password Stores"),
    ("T1556", "Modify Authentication Process"),
    ("T1557", "Adversary-in-the-Middle"),
    ("T1558", "Steal or Forge Kerberos Tickets"),
    ("T1558.003", "Kerberoasting"),
    ("T1559", "Inter-Process Communication"),
    ("T1560", "Archive Collected Data"),
    ("T1561", "Disk Wipe"),
    ("T1562", "Impair Defenses"),
    ("T1562.001", "Disable or Modify Tools"),
    ("T1562.002", "Disable Windows Event Logging"),
    ("T1562.004", "Disable or Modify System Firewall"),
    ("T1563", "Remote Service Session Hijacking"),
    ("T1564", "Hide Artifacts"),
    ("T1565", "Data Manipulation"),
    ("T1566", "Phishing"),
    ("T1566.001", "Spearphishing Attachment"),
    ("T1566.002", "Spearphishing Link"),
    ("T1567", "Exfiltration Over Web Service"),
    ("T1568", "Dynamic Resolution"),
    ("T1569", "System Services"),
    ("T1569.002", "Service Execution"),
    ("T1570", "Lateral Tool Transfer"),
    ("T1571", "Non-Standard Port"),
    ("T1572", "Protocol Tunneling"),
    ("T1573", "Encrypted Channel"),
    ("T1574", "Hijack Execution Flow"),
    ("T1574.002", "DLL Side-Loading"),
    ("T1578", "Modify Cloud Compute Infrastructure"),
    ("T1580", "Cloud Infrastructure Discovery"),
    ("T1583", "Acquire Infrastructure"),
    ("T1584", "Compromise Infrastructure"),
    ("T1585", "Establish Accounts"),
    ("T1586", "Compromise Accounts"),
    ("T1587", "Develop Capabilities"),
    ("T1588", "Obtain Capabilities"),
    ("T1589", "Gather Victim Identity Information"),
    ("T1590", "Gather Victim Network Information"),
    ("T1595", "Active Scanning"),
    ("T1598", "Phishing for Information"),
    ("T1599", "Network Boundary Bridging"),
    ("T1600", "Weaken Encryption"),
    ("T1601", "Modify System Image"),
    ("T1606", "Forge Web Credentials"),
    ("T1608", "Stage Capabilities"),
    ("T1609", "Container Administration Command"),
    ("T1610", "Deploy Container"),
    ("T1611", "Escape to Host"),
    ("T1612", "Build Image on Host"),
    ("T1613", "Container and Resource Discovery"),
    ("T1614", "System Location Discovery"),
    ("T1615", "Group Policy Discovery"),
    ("T1619", "Cloud Storage Object Discovery"),
    ("T1620", "Reflective Code Loading"),
    ("T1621", "Multi-Factor Authentication Request Generation"),
    ("T1622", "Debugger Evasion"),
    ("T1647", "Plist File Modification"),
    ("T1648", "Serverless Execution"),
    ("T1649", "Steal or Forge Authentication Certificates"),
];

/// A tactic tag's id and name: `initial-access` (or `initial_access`) → (`TA0001`, "Initial
/// Access").
pub(crate) fn tactic(tag: &str) -> Option<(&'static str, &'static str)> {
    let spelled = tag.to_ascii_lowercase().replace('_', "-");
    TACTICS
        .iter()
        .find(|(k, _, _)| *k == spelled)
        .map(|(_, id, name)| (*id, *name))
}

/// Every tactic's Sigma spelling, id and name, in the matrix's order.
pub(crate) fn tactics() -> &'static [(&'static str, &'static str, &'static str)] {
    TACTICS
}

pub(crate) fn technique(id: &str) -> Option<&'static str> {
    TECHNIQUES
        .binary_search_by(|(k, _)| (*k).cmp(id))
        .ok()
        .map(|i| TECHNIQUES[i].1)
}

/// A tag in words: "attack.t1110" → "T1110 Brute Force", "attack.t1110.003" → "T1110.003
/// Password Spraying (Brute Force)", "attack.initial-access" → "Initial Access (ATT&CK
/// tactic)", "physical.tailgating" → "Physical: tailgating", "cve.2021-44228" →
/// "CVE-2021-44228". Anything else is shown as written.
pub fn tag_label(tag: &str) -> String {
    let lower = tag.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("attack.") {
        let is_technique =
            rest.starts_with('t') && rest[1..].starts_with(|c: char| c.is_ascii_digit());
        if is_technique {
            let id = rest.to_ascii_uppercase();
            return match (technique(&id), id.split_once('.')) {
                (Some(name), None) => format!("{id} {name}"),
                (Some(name), Some((parent, _))) => match technique(parent) {
                    Some(p) => format!("{id} {name} ({p})"),
                    None => format!("{id} {name}"),
                },
                (None, Some((parent, _))) => match technique(parent) {
                    Some(p) => format!("{id}, a kind of {p}"),
                    None => format!("ATT&CK {id}"),
                },
                (None, None) => format!("ATT&CK {id}"),
            };
        }
        let spelled = rest.replace('_', "-");
        if let Some((_, _, name)) = TACTICS.iter().find(|(k, _, _)| *k == spelled) {
            return format!("{name} (ATT&CK tactic)");
        }
        for (prefix, kind) in [('g', "group"), ('s', "software")] {
            if rest.starts_with(prefix)
                && rest[1..].chars().all(|c| c.is_ascii_digit())
                && rest.len() > 1
            {
                return format!("ATT&CK {kind} {}", rest.to_ascii_uppercase());
            }
        }
        return format!("ATT&CK {}", rest.replace(['_', '-'], " "));
    }
    if let Some(rest) = lower.strip_prefix("physical.") {
        return format!("Physical: {}", rest.replace('_', " "));
    }
    if let Some(rest) = lower.strip_prefix("cve.") {
        return format!("CVE-{}", rest.to_ascii_uppercase());
    }
    if let Some(rest) = lower.strip_prefix("detection.") {
        return format!("Detection: {}", rest.replace(['_', '-'], " "));
    }
    tag.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_so_lookups_find_every_entry() {
        assert!(TECHNIQUES.windows(2).all(|w| w[0].0 < w[1].0));
        for (id, name) in TECHNIQUES {
            assert_eq!(technique(id), Some(*name));
        }
    }

    #[test]
    fn tags_read_as_words() {
        assert_eq!(tag_label("attack.t1110"), "T1110 Brute Force");
        assert_eq!(tag_label("attack.t1078"), "T1078 Valid Accounts");
        assert_eq!(
            tag_label("attack.t1110.003"),
            "T1110.003 Password Spraying (Brute Force)"
        );
        assert_eq!(
            tag_label("attack.t1059.010"),
            "T1059.010, a kind of Command and Scripting Interpreter"
        );
        assert_eq!(tag_label("attack.t9999"), "ATT&CK T9999");
        assert_eq!(
            tag_label("attack.initial-access"),
            "Initial Access (ATT&CK tactic)"
        );
        assert_eq!(
            tag_label("attack.initial_access"),
            "Initial Access (ATT&CK tactic)"
        );
        assert_eq!(
            tag_label("attack.command-and-control"),
            "Command and Control (ATT&CK tactic)"
        );
        assert_eq!(tag_label("attack.g0016"), "ATT&CK group G0016");
        assert_eq!(tag_label("attack.s0002"), "ATT&CK software S0002");
        assert_eq!(tag_label("physical.forced_entry"), "Physical: forced entry");
        assert_eq!(tag_label("cve.2021-44228"), "CVE-2021-44228");
        assert_eq!(tag_label("something"), "something");
    }
}
