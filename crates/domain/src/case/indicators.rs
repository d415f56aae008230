//! The indicators of grid governance and the hotline (立案率, 结案率 …), counted from each
//! case's facts.
//!
//! A case's [`CaseFacts`] follow from the case alone: its status, its milestones (set as
//! its events happen, see [`super::Case::advance_timed`]) and its reporter. Replaying a
//! case's events gives the same facts, so the store keeps them beside the case and the
//! indicators of any area and period are sums over cases reported in that period. The
//! formulas are in `docs/cases.md`.

use super::Case;
use super::flow::{Path, Status};
use super::intake::Callback;

/// The facts of one case that the indicators count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CaseFacts {
    /// 作废: the report was not a case.
    pub voided: bool,
    /// 立案 / 受理, and not voided afterwards.
    pub registered: bool,
    pub dispatched: bool,
    /// 处置: fed back, answered or handled on the spot.
    pub handled: bool,
    /// Handled, and the handling stage never ran over its limit.
    pub handled_on_time: bool,
    /// 结案 / 办结 (and what follows it: 回访, 评价).
    pub closed: bool,
    /// Closed, and no stage ran over its limit.
    pub closed_on_time: bool,
    /// 返工 or 重办 at least once.
    pub reworked: bool,
    /// A concluded hotline ticket whose reporter asked to be called back, or a merged one.
    pub callback_due: bool,
    pub called_back: bool,
    /// A satisfaction was given (评价, or at 回访).
    pub rated: bool,
    /// Given 3 (基本满意) or better.
    pub satisfied: bool,
}

impl CaseFacts {
    /// The facts in the order of [`Tally::FACTS`].
    pub fn values(&self) -> [bool; 12] {
        [
            self.voided,
            self.registered,
            self.dispatched,
            self.handled,
            self.handled_on_time,
            self.closed,
            self.closed_on_time,
            self.reworked,
            self.callback_due,
            self.called_back,
            self.rated,
            self.satisfied,
        ]
    }

    /// The facts from their values in the order of [`Tally::FACTS`].
    pub fn from_values(values: [bool; 12]) -> CaseFacts {
        let [
            voided,
            registered,
            dispatched,
            handled,
            handled_on_time,
            closed,
            closed_on_time,
            reworked,
            callback_due,
            called_back,
            rated,
            satisfied,
        ] = values;
        CaseFacts {
            voided,
            registered,
            dispatched,
            handled,
            handled_on_time,
            closed,
            closed_on_time,
            reworked,
            callback_due,
            called_back,
            rated,
            satisfied,
        }
    }

    pub fn of(case: &Case) -> CaseFacts {
        let status = case.flow.status;
        let milestones = &case.milestones;
        let voided = status == Status::Voided;
        let closed = matches!(
            status,
            Status::Closed | Status::Concluded | Status::CalledBack | Status::Rated
        );
        let handled = milestones.handled;
        let wants_callback = case.reporter.callback != Callback::None;
        let satisfaction = case.flow.satisfaction;
        CaseFacts {
            voided,
            registered: milestones.registered && !voided,
            dispatched: milestones.dispatched,
            handled,
            handled_on_time: handled
                && !milestones.overdue.contains(&super::category::Stage::Handle),
            closed,
            closed_on_time: closed && milestones.overdue.is_empty(),
            reworked: milestones.reworked,
            callback_due: wants_callback
                && (closed && case.flow.path == Path::Hotline || status == Status::Merged),
            called_back: milestones.called_back,
            rated: satisfaction.is_some(),
            satisfied: satisfaction.is_some_and(|level| level >= 3),
        }
    }
}

/// Sums of facts over a set of cases (those reported in a period, in a unit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    /// 上报数: every case reported.
    pub reports: u64,
    pub voided: u64,
    pub registered: u64,
    pub dispatched: u64,
    pub handled: u64,
    pub handled_on_time: u64,
    pub closed: u64,
    pub closed_on_time: u64,
    pub reworked: u64,
    pub callback_due: u64,
    pub called_back: u64,
    pub rated: u64,
    pub satisfied: u64,
}

impl Tally {
    /// The column names the store sums, in the order of [`Tally::from_sums`].
    pub const FACTS: [&'static str; 12] = [
        "voided",
        "registered",
        "dispatched",
        "handled",
        "handled_on_time",
        "closed",
        "closed_on_time",
        "reworked",
        "callback_due",
        "called_back",
        "rated",
        "satisfied",
    ];

    /// The tally of `reports` cases with the sums of [`Tally::FACTS`], in order.
    pub fn from_sums(reports: u64, sums: [u64; 12]) -> Tally {
        let [
            voided,
            registered,
            dispatched,
            handled,
            handled_on_time,
            closed,
            closed_on_time,
            reworked,
            callback_due,
            called_back,
            rated,
            satisfied,
        ] = sums;
        Tally {
            reports,
            voided,
            registered,
            dispatched,
            handled,
            handled_on_time,
            closed,
            closed_on_time,
            reworked,
            callback_due,
            called_back,
            rated,
            satisfied,
        }
    }

    /// One case's facts as a tally.
    pub fn of(facts: CaseFacts) -> Tally {
        let f = |flag: bool| u64::from(flag);
        Tally {
            reports: 1,
            voided: f(facts.voided),
            registered: f(facts.registered),
            dispatched: f(facts.dispatched),
            handled: f(facts.handled),
            handled_on_time: f(facts.handled_on_time),
            closed: f(facts.closed),
            closed_on_time: f(facts.closed_on_time),
            reworked: f(facts.reworked),
            callback_due: f(facts.callback_due),
            called_back: f(facts.called_back),
            rated: f(facts.rated),
            satisfied: f(facts.satisfied),
        }
    }

    pub fn add(&mut self, other: &Tally) {
        self.reports += other.reports;
        self.voided += other.voided;
        self.registered += other.registered;
        self.dispatched += other.dispatched;
        self.handled += other.handled;
        self.handled_on_time += other.handled_on_time;
        self.closed += other.closed;
        self.closed_on_time += other.closed_on_time;
        self.reworked += other.reworked;
        self.callback_due += other.callback_due;
        self.called_back += other.called_back;
        self.rated += other.rated;
        self.satisfied += other.satisfied;
    }
}

/// The nine indicators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Indicator {
    /// 有效上报率 = (上报数 − 作废数) / 上报数.
    ValidReports,
    /// 立案率 = 立案数 / 有效上报数.
    Registration,
    /// 处置率 = 处置数 / 派遣数.
    Handling,
    /// 按期处置率 = 按期处置数 / 处置数.
    OnTimeHandling,
    /// 结案率 = 结案数 / 立案数.
    Closing,
    /// 按期结案率 = 按期结案数 / 结案数.
    OnTimeClosing,
    /// 返工率 = 返工案件数 / 处置数 (lower is better).
    Rework,
    /// 回访率 = 回访数 / 应回访数.
    Callback,
    /// 满意率 = 满意数（含基本满意）/ 评价数.
    Satisfaction,
}

impl Indicator {
    pub const ALL: [Indicator; 9] = [
        Indicator::ValidReports,
        Indicator::Registration,
        Indicator::Handling,
        Indicator::OnTimeHandling,
        Indicator::Closing,
        Indicator::OnTimeClosing,
        Indicator::Rework,
        Indicator::Callback,
        Indicator::Satisfaction,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Indicator::ValidReports => "valid_reports",
            Indicator::Registration => "registration",
            Indicator::Handling => "handling",
            Indicator::OnTimeHandling => "on_time_handling",
            Indicator::Closing => "closing",
            Indicator::OnTimeClosing => "on_time_closing",
            Indicator::Rework => "rework",
            Indicator::Callback => "callback",
            Indicator::Satisfaction => "satisfaction",
        }
    }

    pub fn parse(text: &str) -> Option<Indicator> {
        Indicator::ALL
            .into_iter()
            .find(|indicator| indicator.code() == text)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Indicator::ValidReports => "有效上报率",
            Indicator::Registration => "立案率",
            Indicator::Handling => "处置率",
            Indicator::OnTimeHandling => "按期处置率",
            Indicator::Closing => "结案率",
            Indicator::OnTimeClosing => "按期结案率",
            Indicator::Rework => "返工率",
            Indicator::Callback => "回访率",
            Indicator::Satisfaction => "满意率",
        }
    }

    /// The numerator and denominator of the indicator in `tally`.
    pub fn fraction(self, tally: &Tally) -> (u64, u64) {
        match self {
            Indicator::ValidReports => (tally.reports - tally.voided, tally.reports),
            Indicator::Registration => (tally.registered, tally.reports - tally.voided),
            Indicator::Handling => (tally.handled, tally.dispatched),
            Indicator::OnTimeHandling => (tally.handled_on_time, tally.handled),
            Indicator::Closing => (tally.closed, tally.registered),
            Indicator::OnTimeClosing => (tally.closed_on_time, tally.closed),
            Indicator::Rework => (tally.reworked, tally.handled),
            Indicator::Callback => (tally.called_back, tally.callback_due),
            Indicator::Satisfaction => (tally.satisfied, tally.rated),
        }
    }

    /// The indicator as a share (0 to 1); `None` when its denominator is zero.
    pub fn value(self, tally: &Tally) -> Option<f64> {
        let (numerator, denominator) = self.fraction(tally);
        (denominator > 0).then(|| numerator.min(denominator) as f64 / denominator as f64)
    }

    /// Whether a higher value is better (all but the rework rate).
    pub fn higher_is_better(self) -> bool {
        self != Indicator::Rework
    }
}

/// The weights of a composite score; the score is the weighted mean of the indicators
/// that have a value (the rework rate counted as 1 − rate), times 100.
#[derive(Debug, Clone, PartialEq)]
pub struct Weights(pub Vec<(Indicator, f64)>);

impl Default for Weights {
    /// Equal weights for the closing, on-time, rework and satisfaction indicators, in the
    /// spirit of the assessment schemes of digital urban management.
    fn default() -> Self {
        Weights(vec![
            (Indicator::ValidReports, 1.0),
            (Indicator::Registration, 1.0),
            (Indicator::Handling, 1.0),
            (Indicator::OnTimeHandling, 2.0),
            (Indicator::Closing, 2.0),
            (Indicator::OnTimeClosing, 2.0),
            (Indicator::Rework, 1.0),
            (Indicator::Callback, 1.0),
            (Indicator::Satisfaction, 2.0),
        ])
    }
}

impl Weights {
    /// Weights from `code=weight` pairs separated by commas, e.g. `closing=2,rework=1`;
    /// every fault named.
    pub fn parse(text: &str) -> Result<Weights, String> {
        let mut weights = Vec::new();
        let mut faults = Vec::new();
        for pair in text
            .split(',')
            .map(str::trim)
            .filter(|pair| !pair.is_empty())
        {
            let Some((code, weight)) = pair.split_once('=') else {
                faults.push(format!("'{pair}' is not indicator=weight"));
                continue;
            };
            let Some(indicator) = Indicator::parse(code.trim()) else {
                let codes: Vec<&str> = Indicator::ALL.iter().map(|i| i.code()).collect();
                faults.push(format!(
                    "'{}' is not an indicator (one of {})",
                    code.trim(),
                    codes.join(", ")
                ));
                continue;
            };
            match weight.trim().parse::<f64>() {
                Ok(weight) if weight.is_finite() && weight >= 0.0 => {
                    weights.push((indicator, weight))
                }
                _ => faults.push(format!(
                    "the weight of {} is a number of 0 or more, not '{}'",
                    indicator.code(),
                    weight.trim()
                )),
            }
        }
        if weights.is_empty() && faults.is_empty() {
            faults.push("name at least one indicator=weight".to_owned());
        }
        if faults.is_empty() {
            Ok(Weights(weights))
        } else {
            Err(faults.join("; "))
        }
    }

    /// The composite score of `tally` (0 to 100); `None` when no weighted indicator has a
    /// value.
    pub fn score(&self, tally: &Tally) -> Option<f64> {
        let mut sum = 0.0;
        let mut total = 0.0;
        for (indicator, weight) in &self.0 {
            if let Some(value) = indicator.value(tally) {
                let good = if indicator.higher_is_better() {
                    value
                } else {
                    1.0 - value
                };
                sum += good * weight;
                total += weight;
            }
        }
        (total > 0.0).then(|| 100.0 * sum / total)
    }
}

/// What the indicators are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Grid,
    Community,
    Street,
    District,
    /// The lead department.
    Department,
    /// The account that reported the case (a grid worker, an agent).
    Worker,
}

impl Unit {
    pub const ALL: [Unit; 6] = [
        Unit::Grid,
        Unit::Community,
        Unit::Street,
        Unit::District,
        Unit::Department,
        Unit::Worker,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Unit::Grid => "grid",
            Unit::Community => "community",
            Unit::Street => "street",
            Unit::District => "district",
            Unit::Department => "department",
            Unit::Worker => "worker",
        }
    }

    pub fn parse(text: &str) -> Option<Unit> {
        Unit::ALL.into_iter().find(|unit| unit.code() == text)
    }

    /// For an area unit, how many leading digits of a grid code name it.
    pub fn area_digits(self) -> Option<usize> {
        match self {
            Unit::Grid => Some(15),
            Unit::Community => Some(12),
            Unit::Street => Some(9),
            Unit::District => Some(6),
            Unit::Department | Unit::Worker => None,
        }
    }
}

/// Which cases an indicator table counts: those reported in `[from, to)`, in the area
/// (a grid code prefix) and led by the department, when given; grouped by `by`.
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorQuery {
    pub from: chrono::DateTime<chrono::Utc>,
    pub to: chrono::DateTime<chrono::Utc>,
    pub area: Option<String>,
    pub department: Option<String>,
    pub by: Unit,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_are_listed_in_the_order_of_the_tally_columns() {
        let facts = CaseFacts {
            registered: true,
            closed_on_time: true,
            satisfied: true,
            ..CaseFacts::default()
        };
        let named = serde_json::to_value(facts).unwrap();
        for (fact, value) in Tally::FACTS.iter().zip(facts.values()) {
            assert_eq!(named[fact], value, "{fact}");
        }
        assert_eq!(CaseFacts::from_values(facts.values()), facts);
    }

    fn tally(reports: u64, voided: u64, registered: u64, closed: u64) -> Tally {
        Tally {
            reports,
            voided,
            registered,
            closed,
            ..Tally::default()
        }
    }

    #[test]
    fn the_formulas_divide_what_the_docs_say_and_skip_empty_denominators() {
        let t = Tally {
            dispatched: 8,
            handled: 6,
            handled_on_time: 3,
            closed_on_time: 4,
            reworked: 3,
            rated: 4,
            satisfied: 3,
            ..tally(10, 2, 8, 5)
        };
        assert_eq!(Indicator::ValidReports.value(&t), Some(0.8));
        assert_eq!(Indicator::Registration.value(&t), Some(1.0));
        assert_eq!(Indicator::Handling.value(&t), Some(0.75));
        assert_eq!(Indicator::OnTimeHandling.value(&t), Some(0.5));
        assert_eq!(Indicator::Closing.value(&t), Some(5.0 / 8.0));
        assert_eq!(Indicator::OnTimeClosing.value(&t), Some(0.8));
        assert_eq!(Indicator::Rework.value(&t), Some(0.5));
        assert_eq!(Indicator::Callback.value(&t), None);
        assert_eq!(Indicator::Satisfaction.value(&t), Some(0.75));
        assert_eq!(Indicator::Closing.value(&Tally::default()), None);
    }

    #[test]
    fn a_composite_score_weighs_what_has_a_value_and_inverts_rework() {
        let t = Tally {
            handled: 4,
            reworked: 1,
            ..tally(4, 0, 4, 2)
        };
        let weights = Weights::parse("closing=1, rework=3, callback=5").unwrap();
        // closing 0.5 × 1 + (1 − 0.25) × 3, over 4 (callback has no value).
        assert_eq!(weights.score(&t), Some(100.0 * (0.5 + 2.25) / 4.0));
        let fault = Weights::parse("closing=x, speed=1").unwrap_err();
        assert!(
            fault.contains("weight of closing") && fault.contains("'speed' is not an indicator"),
            "{fault}"
        );
    }

    #[test]
    fn tallies_add_up_and_come_back_from_sums_in_order() {
        let one = Tally::of(CaseFacts {
            registered: true,
            closed: true,
            satisfied: true,
            ..CaseFacts::default()
        });
        let mut both = one;
        both.add(&one);
        let mut sums = [0; 12];
        sums[1] = 2;
        sums[5] = 2;
        sums[11] = 2;
        assert_eq!(both, Tally::from_sums(2, sums));
    }
}
