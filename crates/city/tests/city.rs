//! The synthetic city seen from outside: determinism, valid identifiers, a plausible
//! population, consistent households and houses, and exact geometry. One city of 20,000
//! people is generated once and shared by the checks.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test should panic

use chrono::NaiveDate;
use geo::{Area as _, BoundingRect, Contains, Point};
use huimin_city::{City, CityConfig, generate, random_point_in_city};
use huimin_domain::area::{Area, AreaLevel};
use huimin_domain::identifiers::{AreaCode, CitizenId, CreditCode, GridCode, Sex};
use huimin_domain::registry::{
    EntityKind, EntityStatus, Ethnicity, HouseUse, Household, HouseholdKind, LifeStatus,
    PersonDraft, PersonTag, Relationship, RentalState,
};
use rand::SeedableRng;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::LazyLock;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 1).expect("a valid date")
}

static CITY: LazyLock<City> = LazyLock::new(|| {
    generate(
        &CityConfig {
            seed: 42,
            people: 20_000,
        },
        today(),
    )
});

fn age(city: &City, birth: NaiveDate) -> u32 {
    city.today
        .years_since(birth)
        .expect("nobody is born after the generation day")
}

fn areas_of(city: &City, level: AreaLevel) -> Vec<&Area> {
    city.areas
        .iter()
        .filter(|area| area.level == level)
        .collect()
}

#[test]
fn the_same_seed_gives_the_same_city_and_another_seed_another() {
    let config = CityConfig {
        seed: 7,
        people: 3_000,
    };
    let first = generate(&config, today());
    let second = generate(&config, today());
    assert!(first == second, "two generations with the same seed differ");
    let identity_numbers = |city: &City| -> Vec<String> {
        city.persons
            .iter()
            .map(|person| format!("{} {}", person.citizen_id, person.name))
            .collect()
    };
    assert_eq!(identity_numbers(&first), identity_numbers(&second));

    let other = generate(
        &CityConfig {
            seed: 8,
            people: 3_000,
        },
        today(),
    );
    assert_ne!(identity_numbers(&first), identity_numbers(&other));
    assert_eq!(other.persons.len(), 3_000);
}

#[test]
fn a_city_of_a_thousand_people_is_complete() {
    let city = generate(
        &CityConfig {
            seed: 1,
            people: 1_000,
        },
        today(),
    );
    assert_eq!(city.persons.len(), 1_000);
    assert_eq!(areas_of(&city, AreaLevel::District).len(), 3);
    assert!(!city.households.is_empty());
    assert!(!city.houses.is_empty());
    assert!(!city.entities.is_empty());
    for household in &city.households {
        Household::new(
            &household.number,
            household.kind,
            &household.address,
            household.members.clone(),
        )
        .expect("every household is valid");
    }
    let summary = city.summary();
    assert_eq!(summary.persons, 1_000);
    assert_eq!(summary.grids, 3);
}

#[test]
fn an_empty_city_still_has_its_areas() {
    let city = generate(&CityConfig { seed: 1, people: 0 }, today());
    assert!(city.persons.is_empty() && city.households.is_empty() && city.entities.is_empty());
    assert_eq!(areas_of(&city, AreaLevel::District).len(), 3);
    assert_eq!(city.summary().share_aged_60_and_over, 0.0);
}

#[test]
fn the_area_tree_is_yangzhou_with_generated_streets_communities_and_grids() {
    let city = &*CITY;
    let by_code: HashMap<&str, &Area> = city
        .areas
        .iter()
        .map(|area| (area.code.as_str(), area))
        .collect();
    assert_eq!(by_code.len(), city.areas.len(), "area codes are unique");
    let cities = areas_of(city, AreaLevel::City);
    assert_eq!(cities.len(), 1);
    assert_eq!(
        (cities[0].code.as_str(), cities[0].name.as_str()),
        ("321000", "扬州市")
    );
    let districts: Vec<(&str, &str)> = areas_of(city, AreaLevel::District)
        .iter()
        .map(|area| (area.code.as_str(), area.name.as_str()))
        .collect();
    assert_eq!(
        districts,
        [
            ("321002", "广陵区"),
            ("321003", "邗江区"),
            ("321012", "江都区")
        ]
    );

    for area in &city.areas {
        assert!(area.boundary.is_some(), "{} has no boundary", area.code);
        let Some(parent_code) = &area.parent else {
            assert_eq!(area.level, AreaLevel::City);
            continue;
        };
        let parent = by_code[parent_code.as_str()];
        let (expected_parent_level, code_length) = match area.level {
            AreaLevel::City => panic!("the city has no parent"),
            AreaLevel::District => (AreaLevel::City, 6),
            AreaLevel::Street => (AreaLevel::District, 9),
            AreaLevel::Community => (AreaLevel::Street, 12),
            AreaLevel::Grid => (AreaLevel::Community, 15),
        };
        assert_eq!(parent.level, expected_parent_level, "{}", area.code);
        assert_eq!(area.code.len(), code_length, "{}", area.code);
        if area.level != AreaLevel::District {
            assert!(
                area.code.starts_with(parent_code.as_str()),
                "{} under {parent_code}",
                area.code
            );
        }
    }
    for street in areas_of(city, AreaLevel::Street) {
        assert!(street.name.ends_with("街道"), "{}", street.name);
    }
    for community in areas_of(city, AreaLevel::Community) {
        assert!(community.name.ends_with("社区"), "{}", community.name);
    }
    for grid in areas_of(city, AreaLevel::Grid) {
        GridCode::parse(&grid.code).expect("grid codes parse");
    }
}

/// Children tile their parent: inside it, no two overlapping, areas adding up.
#[test]
fn every_level_tiles_its_parent_exactly() {
    let city = &*CITY;
    let mut children: BTreeMap<&str, Vec<&Area>> = BTreeMap::new();
    for area in &city.areas {
        if let Some(parent) = &area.parent {
            children.entry(parent.as_str()).or_default().push(area);
        }
    }
    let by_code: HashMap<&str, &Area> = city
        .areas
        .iter()
        .map(|area| (area.code.as_str(), area))
        .collect();
    for (parent_code, children) in children {
        let parent = by_code[parent_code]
            .boundary
            .as_ref()
            .expect("every area has a boundary");
        let parent_area = parent.unsigned_area();
        let parent_box = parent.bounding_rect().expect("a non-empty boundary");
        let boxes: Vec<_> = children
            .iter()
            .map(|child| {
                child
                    .boundary
                    .as_ref()
                    .and_then(|boundary| boundary.bounding_rect())
                    .expect("a box")
            })
            .collect();
        let sum: f64 = children
            .iter()
            .map(|child| child.boundary.as_ref().expect("a boundary").unsigned_area())
            .sum();
        assert!(
            (sum - parent_area).abs() <= 1e-9 * parent_area,
            "children of {parent_code} cover {sum} of {parent_area}"
        );
        for (index, child) in boxes.iter().enumerate() {
            assert!(
                child.min().x >= parent_box.min().x
                    && child.min().y >= parent_box.min().y
                    && child.max().x <= parent_box.max().x
                    && child.max().y <= parent_box.max().y,
                "a child of {parent_code} sticks out"
            );
            for other in &boxes[index + 1..] {
                let overlap_width =
                    child.max().x.min(other.max().x) - child.min().x.max(other.min().x);
                let overlap_height =
                    child.max().y.min(other.max().y) - child.min().y.max(other.min().y);
                assert!(
                    overlap_width <= 0.0 || overlap_height <= 0.0,
                    "children of {parent_code} overlap"
                );
            }
        }
    }
}

#[test]
fn identity_numbers_are_valid_unique_and_agree_with_the_person() {
    let city = &*CITY;
    assert_eq!(city.persons.len(), 20_000);
    let mut seen = HashSet::new();
    for person in &city.persons {
        let reparsed = CitizenId::parse_as_of(person.citizen_id.as_str(), city.today)
            .expect("identity numbers parse");
        assert_eq!(reparsed, person.citizen_id);
        assert!(
            seen.insert(person.citizen_id.as_str()),
            "{} issued twice",
            person.citizen_id
        );
        assert_eq!(reparsed.birth_date(), person.birth_date());
        assert!(age(city, person.birth_date()) <= 100);
        let expected_sex = if reparsed.sequence() % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        };
        assert_eq!(person.sex(), expected_sex);
        // The registry's own validation accepts the person as generated.
        let validated = PersonDraft::from(person)
            .validate(city.today)
            .expect("generated persons validate");
        assert_eq!(&validated, person);
    }
}

#[test]
fn the_population_is_old_like_yangzhou_with_migrants_and_minorities() {
    let city = &*CITY;
    let summary = city.summary();
    assert!(summary.share_aged_60_and_over >= 0.20, "{summary}");
    assert!(summary.share_aged_60_and_over <= 0.30, "{summary}");
    let children = city
        .persons
        .iter()
        .filter(|person| age(city, person.birth_date()) < 15)
        .count();
    let share_children = children as f64 / city.persons.len() as f64;
    assert!(
        (0.08..=0.18).contains(&share_children),
        "{share_children} under 15"
    );

    let local_district_prefixes = ["321002", "321003", "321012", "321026", "321027", "321088"];
    let born_elsewhere = city
        .persons
        .iter()
        .filter(|person| !local_district_prefixes.contains(&person.citizen_id.area_code().as_str()))
        .count();
    let share_born_elsewhere = born_elsewhere as f64 / city.persons.len() as f64;
    assert!(
        (0.12..=0.22).contains(&share_born_elsewhere),
        "{share_born_elsewhere} born elsewhere"
    );

    let minorities = city
        .persons
        .iter()
        .filter(|person| person.ethnicity != Ethnicity::HAN)
        .count();
    let share_minorities = minorities as f64 / city.persons.len() as f64;
    assert!(
        (0.008..=0.025).contains(&share_minorities),
        "{share_minorities} minorities"
    );
    let uyghur = Ethnicity::parse("维吾尔族").expect("a GB 3304 name");
    let middle_dot_names: Vec<_> = city
        .persons
        .iter()
        .filter(|person| person.name.has_middle_dot())
        .collect();
    assert!(!middle_dot_names.is_empty());
    assert!(
        middle_dot_names
            .iter()
            .all(|person| person.ethnicity == uyghur)
    );

    let surnames: BTreeMap<&str, usize> = city
        .persons
        .iter()
        .filter_map(|person| person.name.surname())
        .fold(BTreeMap::new(), |mut counts, surname| {
            *counts.entry(surname).or_default() += 1;
            counts
        });
    let most_common = surnames
        .iter()
        .max_by_key(|(_, count)| **count)
        .map(|(surname, _)| *surname);
    assert!(
        matches!(most_common, Some("王" | "李" | "张")),
        "{most_common:?}"
    );
    assert!(surnames.len() >= 90, "only {} surnames", surnames.len());

    let status_share = |status: LifeStatus| {
        city.persons
            .iter()
            .filter(|person| person.life_status == status)
            .count() as f64
            / city.persons.len() as f64
    };
    assert!((0.002..=0.01).contains(&status_share(LifeStatus::Deceased)));
    assert!((0.001..=0.006).contains(&status_share(LifeStatus::Emigrated)));

    let adults: Vec<_> = city
        .persons
        .iter()
        .filter(|person| {
            person.life_status == LifeStatus::Alive && age(city, person.birth_date()) >= 18
        })
        .collect();
    let with_phone = adults
        .iter()
        .filter(|person| person.phone.is_some())
        .count();
    assert!(with_phone as f64 >= 0.9 * adults.len() as f64);
    let phones: HashSet<&str> = city
        .persons
        .iter()
        .filter_map(|person| person.phone.as_ref())
        .map(|phone| phone.as_str())
        .collect();
    assert_eq!(
        phones.len(),
        city.persons
            .iter()
            .filter(|person| person.phone.is_some())
            .count()
    );

    let tagged = |tag: PersonTag| {
        city.persons
            .iter()
            .filter(|person| person.tags.contains(&tag))
            .count() as f64
    };
    let people = city.persons.len() as f64;
    assert!((0.01..=0.035).contains(&(tagged(PersonTag::Disability) / people)));
    assert!((0.10..=0.18).contains(&(tagged(PersonTag::FloatingPopulation) / people)));
    assert!(tagged(PersonTag::Veteran) > 0.0);
    for person in city
        .persons
        .iter()
        .filter(|person| person.tags.contains(&PersonTag::Veteran))
    {
        assert_eq!(person.sex(), Sex::Male);
        assert!(age(city, person.birth_date()) >= 40);
    }
}

#[test]
fn households_are_valid_and_their_relationships_fit_the_ages() {
    let city = &*CITY;
    let persons: HashMap<&str, _> = city
        .persons
        .iter()
        .map(|person| (person.citizen_id.as_str(), person))
        .collect();
    let summary = city.summary();
    assert!(
        (2.4..=2.8).contains(&summary.mean_household_size),
        "{summary}"
    );
    let numbers: HashSet<&str> = city
        .households
        .iter()
        .map(|household| household.number.as_str())
        .collect();
    assert_eq!(numbers.len(), city.households.len());
    let mut members_seen = HashSet::new();
    let mut sizes = BTreeSet::new();
    for household in &city.households {
        let rebuilt = Household::new(
            &household.number,
            household.kind,
            &household.address,
            household.members.clone(),
        )
        .expect("every household passes Household::new");
        assert_eq!(&rebuilt, household);
        assert_eq!(household.number.len(), 9);
        sizes.insert(household.members.len());
        let head_id = household.head().expect("a head").citizen_id.as_str();
        let head = persons[head_id];
        let head_age = i64::from(age(city, head.birth_date()));
        assert!(head_age >= 18);
        for member in &household.members {
            assert!(
                members_seen.insert(member.citizen_id.as_str()),
                "{} in two households",
                member.citizen_id
            );
            let person = persons[member.citizen_id.as_str()];
            assert_eq!(
                person.life_status,
                LifeStatus::Alive,
                "departed people leave the household"
            );
            assert_eq!(person.residence_address, household.address);
            match household.kind {
                HouseholdKind::Registered => assert_eq!(person.hukou_address, household.address),
                HouseholdKind::CoResident => assert_ne!(person.hukou_address, household.address),
            }
            let gap = head_age - i64::from(age(city, person.birth_date()));
            match member.relationship {
                Relationship::Head => {}
                Relationship::Spouse => {
                    assert_ne!(person.sex(), head.sex());
                    assert!(gap.abs() <= 10, "spouse {gap} years apart");
                }
                Relationship::Son | Relationship::Daughter => {
                    assert!((18..=45).contains(&gap), "child {gap} years younger");
                    let expected = if person.sex() == Sex::Male {
                        Relationship::Son
                    } else {
                        Relationship::Daughter
                    };
                    assert_eq!(member.relationship, expected);
                }
                Relationship::Father | Relationship::Mother => assert!((-45..=-18).contains(&gap)),
                Relationship::Grandchild => assert!(gap >= 36, "grandchild {gap} years younger"),
                Relationship::SonOrDaughterInLaw => assert!((15..=45).contains(&gap)),
                other => panic!("unexpected relationship {other:?}"),
            }
        }
    }
    assert_eq!(sizes.first(), Some(&1));
    assert!(
        sizes.last().is_some_and(|largest| *largest >= 6),
        "{sizes:?}"
    );
    let elderly_alone = city
        .persons
        .iter()
        .filter(|person| person.tags.contains(&PersonTag::ElderlyLivingAlone));
    let household_size: HashMap<&str, usize> = city
        .households
        .iter()
        .flat_map(|household| {
            household
                .members
                .iter()
                .map(|member| (member.citizen_id.as_str(), household.members.len()))
        })
        .collect();
    for person in elderly_alone {
        assert!(age(city, person.birth_date()) >= 70);
        assert_eq!(household_size[person.citizen_id.as_str()], 1);
    }
}

#[test]
fn grids_hold_a_few_hundred_residents_each() {
    let city = &*CITY;
    let grid_codes: HashSet<&str> = areas_of(city, AreaLevel::Grid)
        .iter()
        .map(|area| area.code.as_str())
        .collect();
    let mut residents: HashMap<&str, usize> = HashMap::new();
    for person in &city.persons {
        let grid = person
            .grid
            .as_ref()
            .expect("every person has a grid")
            .as_str();
        assert!(
            grid_codes.contains(grid),
            "{grid} is not a grid of the city"
        );
        *residents.entry(grid).or_default() += 1;
    }
    assert_eq!(
        residents.len(),
        grid_codes.len(),
        "every grid has residents"
    );
    for (grid, count) in residents {
        assert!((200..=700).contains(&count), "{grid} has {count} residents");
    }
}

#[test]
fn houses_stand_inside_their_grid_and_are_owned_by_people_of_the_city() {
    let city = &*CITY;
    let grids: HashMap<&str, &Area> = areas_of(city, AreaLevel::Grid)
        .into_iter()
        .map(|area| (area.code.as_str(), area))
        .collect();
    let names: HashMap<&str, (&str, &str, &str)> = {
        let by_code: HashMap<&str, &Area> = city
            .areas
            .iter()
            .map(|area| (area.code.as_str(), area))
            .collect();
        grids
            .keys()
            .map(|code| {
                let community = by_code[&code[..12]];
                let street = by_code[&code[..9]];
                let district = by_code[&code[..6]];
                (
                    *code,
                    (
                        district.name.as_str(),
                        street.name.as_str(),
                        community.name.as_str(),
                    ),
                )
            })
            .collect()
    };
    let persons: HashMap<&str, _> = city
        .persons
        .iter()
        .map(|person| (person.citizen_id.as_str(), person))
        .collect();
    let building_ids: HashSet<&str> = city
        .buildings
        .iter()
        .map(|building| building.id.as_str())
        .collect();
    assert_eq!(building_ids.len(), city.buildings.len());
    let house_ids: HashSet<&str> = city.houses.iter().map(|house| house.id.as_str()).collect();
    assert_eq!(house_ids.len(), city.houses.len());
    let address_lines: HashSet<String> = city
        .houses
        .iter()
        .map(|house| house.address.line())
        .collect();
    assert_eq!(
        address_lines.len(),
        city.houses.len(),
        "every house has its own address"
    );

    for building in &city.buildings {
        let grid = grids[building.grid.as_str()]
            .boundary
            .as_ref()
            .expect("a boundary");
        let point = building.address.point.expect("buildings have a point");
        assert!(grid.contains(&Point::new(point.longitude, point.latitude)));
    }
    let mut residential = 0;
    let mut rented_residential = 0;
    let mut usages = BTreeSet::new();
    for house in &city.houses {
        assert!(building_ids.contains(house.building_id.as_str()));
        let grid = grids[house.grid.as_str()]
            .boundary
            .as_ref()
            .expect("a boundary");
        let point = house.address.point.expect("houses have a point");
        assert!(
            grid.contains(&Point::new(point.longitude, point.latitude)),
            "{} outside its grid",
            house.id
        );
        let (district, street, community) = names[house.grid.as_str()];
        assert_eq!(
            (
                house.address.district.as_str(),
                house.address.street.as_str(),
                house.address.community.as_str()
            ),
            (district, street, community)
        );
        assert!(
            house.address.road.ends_with('路')
                || house.address.road.ends_with('街')
                || house.address.road.ends_with('巷')
        );
        assert!(house.address.number.ends_with('号'));
        assert!(
            (30.0..=200.0).contains(&house.floor_area_m2),
            "{} m²",
            house.floor_area_m2
        );
        for owner in &house.owners {
            let person = persons[owner.as_str()];
            assert!(age(city, person.birth_date()) >= 18);
        }
        for tenant in house.rental.tenants() {
            assert!(persons.contains_key(tenant.as_str()));
            assert!(
                !house.owners.contains(tenant),
                "{} rents from themself",
                house.id
            );
        }
        usages.insert(house.usage.code());
        if house.usage == HouseUse::Residential {
            residential += 1;
            if matches!(house.rental, RentalState::Rented { .. }) {
                rented_residential += 1;
            }
            assert!(!house.owners.is_empty());
        }
    }
    assert_eq!(usages.len(), 4, "{usages:?}");
    let rented_share = rented_residential as f64 / residential as f64;
    assert!(
        (0.15..=0.20).contains(&rented_share),
        "{rented_share} of homes rented"
    );

    // Everyone lives at a house of their grid; the floating population rents.
    let house_by_line: HashMap<String, _> = city
        .houses
        .iter()
        .map(|house| (house.address.line(), house))
        .collect();
    for person in &city.persons {
        let house = house_by_line[&person.residence_address];
        assert_eq!(Some(&house.grid), person.grid.as_ref());
        if person.tags.contains(&PersonTag::FloatingPopulation)
            && age(city, person.birth_date()) >= 18
        {
            assert!(house.rental.tenants().contains(&person.citizen_id));
        }
    }
}

#[test]
fn legal_entities_have_valid_codes_and_representatives_of_the_city() {
    let city = &*CITY;
    let persons: HashMap<&str, _> = city
        .persons
        .iter()
        .map(|person| (person.citizen_id.as_str(), person))
        .collect();
    let district_codes = ["321002", "321003", "321012"];
    assert_eq!(city.entities.len(), 667);
    let codes: HashSet<&str> = city
        .entities
        .iter()
        .map(|entity| entity.credit_code.as_str())
        .collect();
    assert_eq!(codes.len(), city.entities.len());
    let names: HashSet<&str> = city
        .entities
        .iter()
        .map(|entity| entity.name.as_str())
        .collect();
    assert_eq!(names.len(), city.entities.len());
    let mut kinds = BTreeSet::new();
    let mut active = 0;
    for entity in &city.entities {
        let reparsed = CreditCode::parse(entity.credit_code.as_str()).expect("credit codes parse");
        assert_eq!(reparsed, entity.credit_code);
        let area = reparsed
            .registration_area()
            .expect("registered in a GB/T 2260 area");
        assert!(district_codes.contains(&area.as_str()));
        let district_name = AreaCode::parse(area.as_str())
            .expect("a district of the table")
            .name();
        let named_for_place = ["扬州", "江苏", district_name]
            .iter()
            .any(|place| entity.name.contains(place));
        assert!(named_for_place, "{}", entity.name);
        let representative = persons[entity.legal_representative.as_str()];
        assert_eq!(representative.life_status, LifeStatus::Alive);
        assert!(age(city, representative.birth_date()) >= 20);
        assert!(entity.established_on.is_some_and(|date| date < city.today));
        assert!(!entity.registered_address.is_empty());
        kinds.insert(entity.kind.code());
        if entity.status == EntityStatus::Active {
            active += 1;
        }
        match entity.kind {
            EntityKind::Enterprise => assert!(entity.name.ends_with("公司"), "{}", entity.name),
            EntityKind::IndividualBusiness => {
                assert!(!entity.name.contains("公司"), "{}", entity.name)
            }
            _ => {}
        }
    }
    assert!(
        kinds.contains("enterprise") && kinds.contains("individual_business"),
        "{kinds:?}"
    );
    assert!(active as f64 >= 0.8 * city.entities.len() as f64);
}

#[test]
fn random_points_fall_in_a_grid() {
    let city = &*CITY;
    let index = city.grid_index();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    for _ in 0..1_000 {
        let point = random_point_in_city(city, &mut rng);
        assert!(index.grid_at(point).is_some(), "{point:?} is in no grid");
    }
}
