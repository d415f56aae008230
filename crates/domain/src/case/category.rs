//! The case categories: a two-level tree shipped as data (`data/case_categories.tsv`),
//! each subcategory with the working-time limits of its four stages.

use super::limits::Limit;
use std::sync::LazyLock;

/// The four timed stages of a case, on either path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// From the report to 立案 (grid) or 受理 (hotline).
    Register,
    /// From 立案 / 受理 to 派遣 / 派单.
    Dispatch,
    /// From 派遣 / 派单 to the department's 反馈 / 答复.
    Handle,
    /// From 反馈 / 答复 to 核查 / 回访.
    Verify,
}

impl Stage {
    pub const ALL: [Stage; 4] = [
        Stage::Register,
        Stage::Dispatch,
        Stage::Handle,
        Stage::Verify,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Stage::Register => "register",
            Stage::Dispatch => "dispatch",
            Stage::Handle => "handle",
            Stage::Verify => "verify",
        }
    }

    pub fn parse(text: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|stage| stage.code() == text)
    }
}

/// A subcategory (or a class, which has no limits and takes no cases).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Category {
    pub code: String,
    /// The class's code; `None` for a class.
    pub parent: Option<String>,
    pub name: String,
    /// The limits of register, dispatch, handle and verify; empty for a class.
    pub limits: Vec<(Stage, Limit)>,
}

impl Category {
    pub fn limit(&self, stage: Stage) -> Option<Limit> {
        self.limits
            .iter()
            .find(|(of, _)| *of == stage)
            .map(|(_, limit)| *limit)
    }
}

/// The whole tree, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Categories {
    categories: Vec<Category>,
}

static SHIPPED: LazyLock<Result<Categories, String>> =
    LazyLock::new(|| Categories::parse(include_str!("../../data/case_categories.tsv")));

impl Categories {
    /// The categories shipped with Huimin. The data is checked by this module's tests.
    pub fn shipped() -> Result<&'static Categories, String> {
        SHIPPED.as_ref().map_err(Clone::clone)
    }

    /// The tree from its TSV text (see the data file's header), every line checked.
    pub fn parse(text: &str) -> Result<Categories, String> {
        let mut categories: Vec<Category> = Vec::new();
        let mut header_seen = false;
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            if !header_seen {
                header_seen = true;
                continue;
            }
            let cells: Vec<&str> = line.split('\t').collect();
            let problem = |what: String| format!("case categories, line {number}: {what}");
            let (code, parent, name) = match cells.as_slice() {
                [code, parent, name, ..] => (code.trim(), parent.trim(), name.trim()),
                _ => return Err(problem("expected code, parent and name".into())),
            };
            if code.is_empty() || name.is_empty() {
                return Err(problem("a category needs a code and a name".into()));
            }
            if categories.iter().any(|known| known.code == code) {
                return Err(problem(format!("{code} appears twice")));
            }
            let limits = if parent.is_empty() {
                if cells.len() > 3 && cells[3..].iter().any(|cell| !cell.trim().is_empty()) {
                    return Err(problem(format!("the class {code} takes no limits")));
                }
                Vec::new()
            } else {
                let Some(class) = categories.iter().find(|known| known.code == parent) else {
                    return Err(problem(format!(
                        "{code}'s class {parent} is not listed before it"
                    )));
                };
                if class.parent.is_some() {
                    return Err(problem(format!("{parent} is a subcategory, not a class")));
                }
                if !code.starts_with(parent) {
                    return Err(problem(format!(
                        "{code} does not start with its class's code {parent}"
                    )));
                }
                if cells.len() != 7 {
                    return Err(problem(format!("{code} needs four limits")));
                }
                Stage::ALL
                    .into_iter()
                    .zip(&cells[3..7])
                    .map(|(stage, cell)| {
                        Limit::parse(cell)
                            .map(|limit| (stage, limit))
                            .map_err(|error| problem(format!("{code} {}: {error}", stage.code())))
                    })
                    .collect::<Result<_, _>>()?
            };
            categories.push(Category {
                code: code.to_owned(),
                parent: (!parent.is_empty()).then(|| parent.to_owned()),
                name: name.to_owned(),
                limits,
            });
        }
        for class in categories
            .iter()
            .filter(|category| category.parent.is_none())
        {
            if !categories
                .iter()
                .any(|category| category.parent.as_deref() == Some(class.code.as_str()))
            {
                return Err(format!(
                    "case categories: the class {} has no subcategory",
                    class.code
                ));
            }
        }
        Ok(Categories { categories })
    }

    /// The subcategory a case may be filed under, by code.
    pub fn subcategory(&self, code: &str) -> Option<&Category> {
        self.categories
            .iter()
            .find(|category| category.code == code && category.parent.is_some())
    }

    pub fn get(&self, code: &str) -> Option<&Category> {
        self.categories
            .iter()
            .find(|category| category.code == code)
    }

    /// `类别 / 子类`, e.g. `公用设施 / 井盖`.
    pub fn path_name(&self, code: &str) -> Option<String> {
        let category = self.get(code)?;
        Some(
            match category
                .parent
                .as_deref()
                .and_then(|parent| self.get(parent))
            {
                Some(class) => format!("{} / {}", class.name, category.name),
                None => category.name.clone(),
            },
        )
    }

    pub fn all(&self) -> &[Category] {
        &self.categories
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_tree_parses_and_names_its_paths() {
        let categories = Categories::shipped().unwrap();
        assert_eq!(
            categories.path_name("P0101").as_deref(),
            Some("公用设施 / 井盖")
        );
        assert_eq!(
            categories.path_name("E0101").as_deref(),
            Some("市容环境 / 暴露垃圾")
        );
        let manhole = categories.subcategory("P0101").unwrap();
        assert_eq!(manhole.limit(Stage::Handle).unwrap().code(), "1d");
        // A class takes no cases.
        assert!(categories.subcategory("P01").is_none());
        assert!(categories.subcategory("X9999").is_none());
        let social = [
            "矛盾纠纷",
            "治安隐患",
            "安全生产",
            "消防隐患",
            "特殊人群",
            "出租屋",
            "违法建设",
            "民生诉求",
        ];
        for name in social {
            assert!(
                categories
                    .all()
                    .iter()
                    .any(|category| category.parent.is_none() && category.name == name),
                "{name}"
            );
        }
        assert!(categories.all().len() > 50);
    }

    #[test]
    fn broken_data_is_refused_with_its_line() {
        let header = "code\tparent\tname\tregister\tdispatch\thandle\tverify\n";
        let cases = [
            (
                "A01\t\t类\nA0101\tA01\t子\t1h\t1h\t1d\n",
                "line 3: A0101 needs four limits",
            ),
            (
                "A01\t\t类\nA0101\tA02\t子\t1h\t1h\t1d\t1d\n",
                "class A02 is not listed",
            ),
            (
                "A01\t\t类\nB0101\tA01\t子\t1h\t1h\t1d\t1d\n",
                "does not start with",
            ),
            (
                "A01\t\t类\nA0101\tA01\t子\t1h\t1x\t1d\t1d\n",
                "A0101 dispatch",
            ),
            ("A01\t\t类\n", "has no subcategory"),
            ("A01\t\t类\nA01\t\t类\n", "appears twice"),
        ];
        for (body, expected) in cases {
            let error = Categories::parse(&format!("{header}{body}")).unwrap_err();
            assert!(error.contains(expected), "{error} (expected {expected})");
        }
    }
}
