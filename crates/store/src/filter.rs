//! A `WHERE` clause of equalities on text columns, built from a query's optional
//! conditions, with its values to bind in order (`$1`, `$2` …). Column names come from
//! this crate's own constants; values are always bound.

#[derive(Debug, Default)]
pub(crate) struct Filter {
    clauses: Vec<String>,
    values: Vec<String>,
}

impl Filter {
    /// `column = value`, when there is a value.
    pub(crate) fn equal(mut self, column: &str, value: Option<String>) -> Filter {
        if let Some(value) = value {
            self.values.push(value);
            self.clauses
                .push(format!("{column} = ${}", self.values.len()));
        }
        self
    }

    /// `(first = value OR second = value)`, when there is a value.
    pub(crate) fn either(mut self, first: &str, second: &str, value: Option<String>) -> Filter {
        if let Some(value) = value {
            self.values.push(value);
            let n = self.values.len();
            self.clauses
                .push(format!("({first} = ${n} OR {second} = ${n})"));
        }
        self
    }

    /// `column` starts with `value` (a code prefix), as a range the column's index serves:
    /// `column >= value AND column < value || U+10FFFF`.
    pub(crate) fn prefix(mut self, column: &str, value: Option<String>) -> Filter {
        if let Some(value) = value {
            self.values.push(format!("{value}\u{10FFFF}"));
            self.values.push(value);
            let n = self.values.len();
            self.clauses
                .push(format!("({column} >= ${n} AND {column} < ${})", n - 1));
        }
        self
    }

    /// A condition without values, written by this crate.
    pub(crate) fn clause(mut self, condition: Option<&str>) -> Filter {
        if let Some(condition) = condition {
            self.clauses.push(condition.to_owned());
        }
        self
    }

    /// The clause (empty when no condition was given) and the values in order.
    pub(crate) fn finish(self) -> (String, Vec<String>) {
        if self.clauses.is_empty() {
            (String::new(), self.values)
        } else {
            (format!("WHERE {}", self.clauses.join(" AND ")), self.values)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Filter;

    #[test]
    fn conditions_number_their_values_in_order() {
        let (clause, values) = Filter::default()
            .equal("status", Some("open".into()))
            .equal("subject", None)
            .either("consumer", "provider", Some("minzheng".into()))
            .finish();
        assert_eq!(
            clause,
            "WHERE status = $1 AND (consumer = $2 OR provider = $2)"
        );
        assert_eq!(values, ["open", "minzheng"]);
        let (clause, values) = Filter::default()
            .prefix("grid", Some("321002".into()))
            .clause(Some("status <> 'rated'"))
            .finish();
        assert_eq!(
            clause,
            "WHERE (grid >= $2 AND grid < $1) AND status <> 'rated'"
        );
        assert_eq!(values, ["321002\u{10FFFF}", "321002"]);
        assert_eq!(
            Filter::default().equal("status", None).finish(),
            (String::new(), Vec::new())
        );
    }
}
