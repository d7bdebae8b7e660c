//! Framework catalogues as data: a framework's items (themes and controls, or functions,
//! categories and subcategories) read from YAML and checked with file, line and reason.

use serde::{Deserialize, Serialize};

use crate::{FileError, key_line};

/// One framework's catalogue (`compliance/<framework>.yaml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    /// The framework's id, used everywhere else (`iso27001-2022`, `nist-csf-2.0`).
    pub framework: String,
    /// Its name as people say it.
    pub name: String,
    /// The version of the framework the file describes.
    pub version: String,
    /// What each level of nesting is called, outermost first (`[theme, control]`). Items at
    /// the last level are the controls a Statement of Applicability lists.
    pub levels: Vec<String>,
    pub items: Vec<Item>,
    /// Where the file came from (`shipped:iso27001-2022.yaml` or a path); not in the file.
    #[serde(skip)]
    pub origin: String,
}

/// An item of a catalogue: a group (theme, function, category) or a control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub id: String,
    pub title: String,
    /// A one-sentence summary (our own words for copyrighted frameworks).
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub items: Vec<Item>,
}

/// A control (an item of the last level) with the groups it sits in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Control<'a> {
    pub item: &'a Item,
    /// The enclosing items, outermost first.
    pub groups: Vec<&'a Item>,
}

/// The most items a catalogue may hold, and the longest text: a bound for files from disk.
const MAX_ITEMS: usize = 5_000;
const MAX_TEXT: usize = 600;

impl Catalogue {
    /// Every item of `level` (0 the outermost), in file order.
    pub fn at_level(&self, level: usize) -> Vec<&Item> {
        fn walk<'a>(items: &'a [Item], depth: usize, level: usize, out: &mut Vec<&'a Item>) {
            for i in items {
                if depth == level {
                    out.push(i);
                } else {
                    walk(&i.items, depth + 1, level, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.items, 0, level, &mut out);
        out
    }

    /// The controls (items of the last level) with their groups, in file order.
    pub fn controls(&self) -> Vec<Control<'_>> {
        fn walk<'a>(items: &'a [Item], groups: &mut Vec<&'a Item>, out: &mut Vec<Control<'a>>) {
            for i in items {
                if i.items.is_empty() {
                    out.push(Control {
                        item: i,
                        groups: groups.clone(),
                    });
                } else {
                    groups.push(i);
                    walk(&i.items, groups, out);
                    groups.pop();
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.items, &mut Vec::new(), &mut out);
        out
    }

    /// The control with this id.
    pub fn control(&self, id: &str) -> Option<Control<'_>> {
        self.controls().into_iter().find(|c| c.item.id == id)
    }
}

/// Reads a catalogue and checks it: ids unique and nested under their group's id, every
/// control at the last level, titles present and bounded. Every problem with its line.
pub fn parse(file: &str, text: &str) -> Result<Catalogue, Vec<FileError>> {
    let mut c: Catalogue = crate::read_yaml(file, text, "not a valid catalogue")?;
    c.origin = file.to_owned();
    let mut problems = Vec::new();
    let at = |id: &str| key_line(text, "id", Some(id), 0).unwrap_or(1);
    if !crate::valid_id(&c.framework) {
        problems.push((
            key_line(text, "framework", None, 0).unwrap_or(1),
            format!(
                "framework `{}` is not an id (letters, digits, `.`, `-`, `_`)",
                c.framework
            ),
        ));
    }
    if c.levels.is_empty() {
        problems.push((
            key_line(text, "levels", None, 0).unwrap_or(1),
            "levels must name at least one level".to_owned(),
        ));
    }
    /// What the walk has found so far: ids seen, items counted, problems.
    #[derive(Default)]
    struct Found {
        seen: std::collections::BTreeSet<String>,
        count: usize,
        problems: Vec<(u64, String)>,
    }
    fn walk(
        items: &[Item],
        depth: usize,
        parent: Option<&str>,
        c: &Catalogue,
        found: &mut Found,
        at: &dyn Fn(&str) -> u64,
    ) {
        let Found {
            seen,
            count,
            problems,
        } = found;
        for i in items {
            *count += 1;
            let line = at(&i.id);
            let level = c.levels.get(depth).map_or("item", String::as_str);
            if !crate::valid_id(&i.id) {
                problems.push((line, format!("{level} id `{}` is not an id", i.id)));
            }
            if !seen.insert(i.id.clone()) {
                problems.push((line, format!("{level} `{}` appears twice", i.id)));
            }
            if let Some(p) = parent
                && !i.id.starts_with(p)
            {
                problems.push((
                    line,
                    format!("{level} `{}` is not under its group `{p}`", i.id),
                ));
            }
            if i.title.trim().is_empty() {
                problems.push((line, format!("{level} `{}` has no title", i.id)));
            }
            if i.title.len() > MAX_TEXT || i.summary.len() > MAX_TEXT {
                problems.push((
                    line,
                    format!(
                        "{level} `{}`: a title or summary may have at most {MAX_TEXT} bytes",
                        i.id
                    ),
                ));
            }
            let last = depth + 1 == c.levels.len();
            if i.items.is_empty() && !last && !c.levels.is_empty() {
                problems.push((
                    line,
                    format!(
                        "{level} `{}` has no {}; controls are at the level `{}`",
                        i.id,
                        c.levels.get(depth + 1).map_or("items", String::as_str),
                        c.levels.last().map_or("", String::as_str)
                    ),
                ));
            }
            if !i.items.is_empty() && last {
                problems.push((
                    line,
                    format!("{level} `{}` is a control and cannot hold items", i.id),
                ));
            }
        }
        for i in items {
            walk(&i.items, depth + 1, Some(&i.id), c, found, at);
        }
    }
    let mut found = Found {
        problems,
        ..Found::default()
    };
    walk(&c.items, 0, None, &c, &mut found, &at);
    let Found {
        count,
        mut problems,
        ..
    } = found;
    if count > MAX_ITEMS {
        problems.push((
            1,
            format!("{count} items; a catalogue may hold {MAX_ITEMS}"),
        ));
    }
    crate::problems(file, problems).map(|()| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped(framework: &str) -> Catalogue {
        crate::Library::shipped()
            .catalogue(framework)
            .unwrap()
            .clone()
    }

    #[test]
    fn annex_a_has_93_controls_in_four_themes() {
        let c = shipped("iso27001-2022");
        let themes: Vec<&str> = c.at_level(0).iter().map(|i| i.id.as_str()).collect();
        assert_eq!(themes, ["A.5", "A.6", "A.7", "A.8"]);
        let controls = c.controls();
        assert_eq!(controls.len(), 93);
        for (theme, n) in [("A.5", 37), ("A.6", 8), ("A.7", 14), ("A.8", 34)] {
            let ids: Vec<String> = controls
                .iter()
                .filter(|c| c.groups[0].id == theme)
                .map(|c| c.item.id.clone())
                .collect();
            let expected: Vec<String> = (1..=n).map(|i| format!("{theme}.{i}")).collect();
            assert_eq!(ids, expected, "{theme}");
        }
        assert!(controls.iter().all(|c| !c.item.summary.is_empty()));
        assert_eq!(
            c.control("A.8.17").unwrap().item.title,
            "Clock synchronization"
        );
    }

    #[test]
    fn csf_2_has_6_functions_22_categories_and_106_subcategories() {
        let c = shipped("nist-csf-2.0");
        let functions: Vec<&str> = c.at_level(0).iter().map(|i| i.id.as_str()).collect();
        assert_eq!(functions, ["GV", "ID", "PR", "DE", "RS", "RC"]);
        assert_eq!(c.at_level(1).len(), 22);
        assert_eq!(c.at_level(2).len(), 106);
        assert_eq!(c.controls().len(), 106);
        let per_function: Vec<usize> = c
            .at_level(0)
            .iter()
            .map(|f| f.items.iter().map(|cat| cat.items.len()).sum())
            .collect();
        assert_eq!(per_function, [31, 21, 22, 11, 13, 8]);
        for id in [
            "GV.OC-01", "ID.AM-08", "PR.DS-11", "DE.CM-09", "RS.CO-03", "RC.CO-04",
        ] {
            assert!(c.control(id).is_some(), "{id}");
        }
        for withdrawn in ["ID.AM-06", "DE.CM-04", "RS.CO-04", "RC.CO-01"] {
            assert!(c.control(withdrawn).is_none(), "{withdrawn}");
        }
    }

    #[test]
    fn a_bad_catalogue_is_refused_with_the_line_of_each_problem() {
        let text = "framework: x\nname: X\nversion: '1'\nlevels: [theme, control]\nitems:\n  - id: T1\n    title: Theme\n    items:\n      - {id: T1.1, title: One}\n      - {id: T2.1, title: Misplaced}\n      - {id: T1.1, title: Twice}\n  - id: T3\n    title: Empty\n";
        let errors = parse("x.yaml", text).unwrap_err();
        let said: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert!(
            said.contains(&"x.yaml:10: control `T2.1` is not under its group `T1`".to_owned()),
            "{said:?}"
        );
        assert!(
            said.contains(&"x.yaml:9: control `T1.1` appears twice".to_owned()),
            "{said:?}"
        );
        assert!(
            said.iter()
                .any(|s| s.starts_with("x.yaml:12: theme `T3` has no control")),
            "{said:?}"
        );
        let syntax = parse("y.yaml", "framework: [").unwrap_err();
        assert_eq!(syntax[0].file, "y.yaml");
        assert!(syntax[0].line >= 1);
    }
}
