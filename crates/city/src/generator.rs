//! The random source of the synthetic city: a [`Generator`] per stage, and weighted
//! tables to draw from.
//!
//! Every stage (geography, population, housing, entities, and the department datasets
//! that later work adds) draws from its own ChaCha8 stream derived from the one seed, so
//! adding draws to one stage never changes what another stage produces. This module must
//! not read the clock, the environment or any other source of entropy: `today` and the
//! seed come in from the caller, which is what makes the city reproducible.

use chrono::NaiveDate;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The stages of generation, each with its own random stream. The numbers are stream
/// identifiers: never renumber a stage, or every city generated so far changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    Geography = 1,
    Population = 2,
    Housing = 3,
    Entities = 4,
    Departments = 5,
    Cases = 6,
    Facilities = 7,
}

/// The random source of one stage, with the date the city is generated for.
pub(crate) struct Generator {
    rng: ChaCha8Rng,
    today: NaiveDate,
}

impl Generator {
    pub(crate) fn for_stage(seed: u64, stage: Stage, today: NaiveDate) -> Generator {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stage as u64);
        Generator { rng, today }
    }

    /// The day the city is generated for; ages are counted to it and nothing is dated
    /// after it.
    pub(crate) fn today(&self) -> NaiveDate {
        self.today
    }

    /// True with the given probability (clamped to 0–1).
    pub(crate) fn chance(&mut self, probability: f64) -> bool {
        self.rng.random_bool(probability.clamp(0.0, 1.0))
    }

    /// A whole number from `low` to `high`, both included (`low` when `high < low`).
    pub(crate) fn integer(&mut self, low: u32, high: u32) -> u32 {
        if high <= low {
            low
        } else {
            self.rng.random_range(low..=high)
        }
    }

    /// A real number in `[low, high)` (`low` when the range is empty).
    pub(crate) fn real(&mut self, low: f64, high: f64) -> f64 {
        if high > low {
            self.rng.random_range(low..high)
        } else {
            low
        }
    }

    /// One element of a non-empty slice.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let index = self.index(items.len());
        &items[index]
    }

    /// An index below `length`, which must not be zero.
    pub(crate) fn index(&mut self, length: usize) -> usize {
        assert!(length > 0, "cannot pick from an empty list");
        self.rng.random_range(0..length)
    }

    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        items.shuffle(&mut self.rng);
    }
}

/// Items with integer weights, drawn in O(log n) by binary search over the cumulative
/// weights.
pub(crate) struct WeightedTable<T> {
    items: Vec<T>,
    cumulative: Vec<u64>,
}

impl<T: Clone> WeightedTable<T> {
    /// A table of the items with a positive weight. Panics when no weight is positive,
    /// which only a wrong constant table can cause.
    pub(crate) fn new(weighted: &[(T, u32)]) -> WeightedTable<T> {
        let mut items = Vec::with_capacity(weighted.len());
        let mut cumulative = Vec::with_capacity(weighted.len());
        let mut total = 0_u64;
        for (item, weight) in weighted.iter().filter(|(_, weight)| *weight > 0) {
            total += u64::from(*weight);
            items.push(item.clone());
            cumulative.push(total);
        }
        assert!(
            total > 0,
            "a weighted table needs at least one positive weight"
        );
        WeightedTable { items, cumulative }
    }

    pub(crate) fn sample(&self, generator: &mut Generator) -> T {
        let total = *self
            .cumulative
            .last()
            .expect("the constructor refuses empty tables");
        let target = generator.rng.random_range(0..total);
        let index = self.cumulative.partition_point(|&upper| upper <= target);
        self.items[index].clone()
    }
}

/// Splits `total` into parts proportional to `weights` that add up to exactly `total`
/// (largest remainders first, ties to the lower index). An empty or all-zero weight list
/// gives equal parts.
pub(crate) fn apportion(total: u32, weights: &[f64]) -> Vec<u32> {
    if weights.is_empty() {
        return Vec::new();
    }
    let weight_sum: f64 = weights.iter().map(|weight| weight.max(0.0)).sum();
    let shares: Vec<f64> = if weight_sum > 0.0 {
        weights
            .iter()
            .map(|weight| f64::from(total) * weight.max(0.0) / weight_sum)
            .collect()
    } else {
        vec![f64::from(total) / weights.len() as f64; weights.len()]
    };
    // Truncation is intended: the floor of each share, remainders handed out below.
    let mut parts: Vec<u32> = shares.iter().map(|share| share.floor() as u32).collect();
    let assigned: u32 = parts.iter().sum();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&left, &right| {
        let left_remainder = shares[left] - shares[left].floor();
        let right_remainder = shares[right] - shares[right].floor();
        right_remainder
            .total_cmp(&left_remainder)
            .then(left.cmp(&right))
    });
    for &index in order
        .iter()
        .cycle()
        .take(total.saturating_sub(assigned) as usize)
    {
        parts[index] += 1;
    }
    parts
}

/// Splits `total` into `parts` nearly equal whole parts, the larger ones first.
pub(crate) fn split_evenly(total: u32, parts: u32) -> Vec<u32> {
    if parts == 0 {
        return Vec::new();
    }
    let base = total / parts;
    let extra = total % parts;
    (0..parts)
        .map(|index| base + u32::from(index < extra))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_adds_up_and_follows_the_weights() {
        assert_eq!(apportion(10, &[1.0, 1.0, 2.0]), vec![3, 2, 5]);
        assert_eq!(apportion(7, &[0.0, 0.0]), vec![4, 3]);
        let parts = apportion(1_000_003, &[0.3, 0.33, 0.37]);
        assert_eq!(parts.iter().sum::<u32>(), 1_000_003);
        assert_eq!(split_evenly(10, 4), vec![3, 3, 2, 2]);
    }

    #[test]
    fn stages_draw_from_independent_streams() {
        let today = NaiveDate::from_ymd_opt(2026, 1, 1).expect("a valid date");
        let mut geography = Generator::for_stage(1, Stage::Geography, today);
        let mut population = Generator::for_stage(1, Stage::Population, today);
        let mut geography_again = Generator::for_stage(1, Stage::Geography, today);
        let first: Vec<u32> = (0..8).map(|_| geography.integer(0, 1_000_000)).collect();
        let second: Vec<u32> = (0..8).map(|_| population.integer(0, 1_000_000)).collect();
        let again: Vec<u32> = (0..8)
            .map(|_| geography_again.integer(0, 1_000_000))
            .collect();
        assert_ne!(first, second);
        assert_eq!(first, again);
    }

    #[test]
    fn weighted_tables_never_draw_zero_weights() {
        let today = NaiveDate::from_ymd_opt(2026, 1, 1).expect("a valid date");
        let mut generator = Generator::for_stage(3, Stage::Entities, today);
        let table = WeightedTable::new(&[("never", 0), ("rare", 1), ("common", 9)]);
        let draws: Vec<&str> = (0..1_000).map(|_| table.sample(&mut generator)).collect();
        assert!(!draws.contains(&"never"));
        let rare = draws.iter().filter(|draw| **draw == "rare").count();
        assert!((50..=160).contains(&rare), "{rare} rare draws in 1,000");
    }
}
