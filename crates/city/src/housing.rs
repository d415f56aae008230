//! Buildings and houses (房屋): residential compounds at door numbers on the community's
//! roads, street-front shops, some office buildings and garages, all inside their grid,
//! and who owns, rents or lives in each house.
//!
//! Every family gets a residential house of its grid; a few percent of houses stand
//! vacant. Owner-occupiers are the head (and often the spouse); rented houses — where the
//! floating population lives — and vacant ones belong to other adults of the city. Once
//! houses exist, this module writes the persons' residence and household-registration
//! addresses. It must not create people or change who belongs to which family.

use crate::generator::Generator;
use crate::geography::CityLayout;
use crate::names;
use crate::population::Population;
use geo::Rect;
use huimin_domain::identifiers::CitizenId;
use huimin_domain::registry::{
    Address, Building, GeoPoint, House, HouseUse, LifeStatus, Relationship, RentalState,
};

/// Floors of residential buildings: mostly six-storey walk-ups, some high-rises.
const RESIDENTIAL_FLOORS: [u32; 8] = [5, 6, 6, 6, 7, 11, 11, 18];
/// Flats per floor and unit (一梯两户).
const FLATS_PER_FLOOR: u32 = 2;
/// Buildings stand inside this margin of their grid, so they are strictly inside it.
const GRID_MARGIN: f64 = 0.05;

/// The built city.
pub(crate) struct Housing {
    pub buildings: Vec<Building>,
    pub houses: Vec<House>,
    /// The house each family lives in, parallel to the population's families.
    pub family_house: Vec<usize>,
    /// Shops and offices of each grid, parallel to the layout's grids: where entities are
    /// registered.
    pub business_houses: Vec<Vec<usize>>,
}

/// Builds houses for every family and writes the persons' addresses.
pub(crate) fn build(
    generator: &mut Generator,
    layout: &CityLayout,
    population: &mut Population,
) -> Housing {
    let owner_pool: Vec<usize> = population
        .facts
        .iter()
        .enumerate()
        .filter(|(index, fact)| {
            fact.age >= 25
                && !population.families[fact.family].migrant
                && population.persons[*index].life_status == LifeStatus::Alive
        })
        .map(|(index, _)| index)
        .collect();
    let mut builder = Builder {
        generator,
        population,
        owner_pool,
        door_numbers: layout
            .communities
            .iter()
            .map(|community| vec![0; community.roads.len()])
            .collect(),
        grid_first_building: 0,
        grid_first_house: 0,
        housing: Housing {
            buildings: Vec::new(),
            houses: Vec::new(),
            family_house: vec![usize::MAX; population.families.len()],
            business_houses: Vec::with_capacity(layout.grids.len()),
        },
    };
    for grid_index in 0..layout.grids.len() {
        builder.build_grid(layout, grid_index);
    }
    let housing = builder.housing;
    write_addresses(generator, population, &housing);
    housing
}

struct Builder<'a> {
    generator: &'a mut Generator,
    population: &'a Population,
    /// Adults of local families who may own a house they do not live in.
    owner_pool: Vec<usize>,
    /// The last door number used on each road of each community.
    door_numbers: Vec<Vec<u32>>,
    /// The first building and the first house of the grid being built.
    grid_first_building: usize,
    grid_first_house: usize,
    housing: Housing,
}

/// A flat of a residential building before anyone is assigned to it.
struct Flat {
    building: usize,
    unit: u32,
    room: u32,
}

impl Builder<'_> {
    fn build_grid(&mut self, layout: &CityLayout, grid_index: usize) {
        let grid = &layout.grids[grid_index];
        let families = self.population.grid_families[grid_index].clone();
        let family_count = families.len();
        // Rounding is intended: a whole number of vacant flats.
        let vacancies = (family_count as f64 * self.generator.real(0.04, 0.10)).round() as usize;
        let needed = family_count + vacancies;
        self.grid_first_building = self.housing.buildings.len();
        self.grid_first_house = self.housing.houses.len();

        let mut flats = Vec::with_capacity(needed + 4);
        while flats.len() < needed {
            let (road, number) = self.next_door_number(layout, grid.community);
            let buildings_in_compound = self.generator.integer(1, 6);
            for building_number in 1..=buildings_in_compound {
                if flats.len() >= needed {
                    break;
                }
                let floors = *self.generator.pick(&RESIDENTIAL_FLOORS);
                let units = if floors >= 11 {
                    self.generator.integer(1, 2)
                } else {
                    self.generator.integer(1, 3)
                };
                let remaining = u32::try_from(needed - flats.len()).unwrap_or(u32::MAX);
                let floors = floors.min(remaining.div_ceil(units * FLATS_PER_FLOOR));
                let building = self.add_building(
                    layout,
                    grid_index,
                    &road,
                    &number,
                    Some(building_number.to_string()),
                    floors,
                );
                for unit in 1..=units {
                    for floor in 1..=floors {
                        for door in 1..=FLATS_PER_FLOOR {
                            flats.push(Flat {
                                building,
                                unit,
                                room: floor * 100 + door,
                            });
                        }
                    }
                }
            }
        }

        let mut order: Vec<usize> = (0..flats.len()).collect();
        self.generator.shuffle(&mut order);
        let mut occupant = vec![None; flats.len()];
        for (family, &flat) in families.zip(&order) {
            occupant[flat] = Some(family);
        }
        for (flat, occupant) in flats.iter().zip(occupant) {
            self.add_flat(flat, occupant);
        }

        for building in self.grid_first_building..self.housing.buildings.len() {
            if self.housing.buildings[building].floors >= 11 {
                self.add_garages(building);
            }
        }

        let mut business = Vec::new();
        let (road, number) = self.next_door_number(layout, grid.community);
        let floors = self.generator.integer(1, 3);
        let shops_building = self.add_building(layout, grid_index, &road, &number, None, floors);
        for shop in 1..=self.generator.integer(2, 6) {
            let area = self.generator.real(30.0, 150.0);
            business.push(self.add_business_house(
                shops_building,
                None,
                100 + shop,
                HouseUse::Commercial,
                area,
            ));
        }
        if self.generator.chance(0.3) {
            let (road, number) = self.next_door_number(layout, grid.community);
            let floors = self.generator.integer(6, 20);
            let building_number = Some(self.generator.integer(1, 3).to_string());
            let offices_building =
                self.add_building(layout, grid_index, &road, &number, building_number, floors);
            for office in 0..self.generator.integer(3, 10) {
                let room = (2 + office / 4) * 100 + office % 4 + 1;
                let area = self.generator.real(40.0, 200.0);
                business.push(self.add_business_house(
                    offices_building,
                    None,
                    room,
                    HouseUse::Office,
                    area,
                ));
            }
        }
        self.housing.business_houses.push(business);
    }

    /// A road of the community and the next free door number on it.
    fn next_door_number(&mut self, layout: &CityLayout, community: usize) -> (String, String) {
        let roads = &layout.communities[community].roads;
        let road = self.generator.index(roads.len());
        let last = &mut self.door_numbers[community][road];
        *last += self.generator.integer(1, 6);
        (roads[road].clone(), format!("{last}号"))
    }

    fn add_building(
        &mut self,
        layout: &CityLayout,
        grid_index: usize,
        road: &str,
        number: &str,
        building_number: Option<String>,
        floors: u32,
    ) -> usize {
        let grid = &layout.grids[grid_index];
        let index = self.housing.buildings.len();
        let address = Address {
            district: layout.districts[layout.district_of_grid(grid_index)]
                .code
                .name()
                .to_owned(),
            street: layout.street_of_grid(grid_index).name.clone(),
            community: layout.community_of_grid(grid_index).name.clone(),
            road: road.to_owned(),
            number: number.to_owned(),
            building: building_number,
            unit: None,
            room: None,
            point: Some(point_inside(self.generator, grid.rectangle)),
        };
        let sequence = index - self.grid_first_building;
        self.housing.buildings.push(Building {
            id: format!("{}-{:03}", grid.code.as_str(), sequence + 1),
            address,
            grid: grid.code.clone(),
            floors: u16::try_from(floors).unwrap_or(u16::MAX),
        });
        index
    }

    fn add_flat(&mut self, flat: &Flat, occupant: Option<usize>) {
        let building = &self.housing.buildings[flat.building];
        let mut address = building.address.clone();
        address.unit = Some(flat.unit.to_string());
        address.room = Some(flat.room.to_string());
        let id = format!("{}-{}-{}", building.id, flat.unit, flat.room);
        let (building_id, grid) = (building.id.clone(), building.grid.clone());
        let (floor_area, owners, rental) = match occupant {
            Some(family_index) => {
                let family = &self.population.families[family_index];
                let size = family.members.len() as f64;
                let area = 40.0 + 20.0 * size + self.generator.real(-10.0, 30.0);
                let members: Vec<usize> =
                    family.members.iter().map(|(person, _)| *person).collect();
                if family.renting {
                    let owners = self.random_owner(&members);
                    let tenants = members
                        .iter()
                        .filter(|&&person| self.population.facts[person].age >= 18)
                        .map(|&person| self.citizen_id(person))
                        .collect();
                    (area, owners, RentalState::Rented { tenants })
                } else {
                    let mut owners = Vec::with_capacity(2);
                    for &(person, relationship) in &family.members {
                        let co_owner = relationship == Relationship::Spouse
                            && self.population.facts[person].age >= 18
                            && self.generator.chance(0.6);
                        if relationship == Relationship::Head || co_owner {
                            owners.push(self.citizen_id(person));
                        }
                    }
                    (area, owners, RentalState::OwnerOccupied)
                }
            }
            None => (
                self.generator.real(45.0, 140.0),
                self.random_owner(&[]),
                RentalState::Vacant,
            ),
        };
        let index = self.push_house(
            id,
            building_id,
            address,
            grid,
            HouseUse::Residential,
            floor_area,
            owners,
            rental,
        );
        if let Some(family_index) = occupant {
            self.housing.family_house[family_index] = index;
        }
    }

    /// Underground parking of a high-rise, owned by owners of flats in it.
    fn add_garages(&mut self, building_index: usize) {
        let building_id = self.housing.buildings[building_index].id.clone();
        let flat_owners: Vec<Vec<CitizenId>> = self.housing.houses[self.grid_first_house..]
            .iter()
            .filter(|house| house.building_id == building_id && !house.owners.is_empty())
            .map(|house| house.owners.clone())
            .collect();
        for garage in 1..=self.generator.integer(2, 6) {
            let building = &self.housing.buildings[building_index];
            let mut address = building.address.clone();
            address.room = Some(format!("B1-{garage:02}"));
            let id = format!("{}-B1-{garage:02}", building.id);
            let grid = building.grid.clone();
            let owners = if flat_owners.is_empty() {
                self.random_owner(&[])
            } else {
                self.generator.pick(&flat_owners).clone()
            };
            let area = self.generator.real(30.0, 45.0);
            self.push_house(
                id,
                building_id.clone(),
                address,
                grid,
                HouseUse::Garage,
                area,
                owners,
                RentalState::OwnerOccupied,
            );
        }
    }

    /// A shop or office: mostly let to someone running a business, some used by their
    /// owner, some empty.
    fn add_business_house(
        &mut self,
        building_index: usize,
        unit: Option<u32>,
        room: u32,
        usage: HouseUse,
        floor_area: f64,
    ) -> usize {
        let building = &self.housing.buildings[building_index];
        let mut address = building.address.clone();
        address.unit = unit.map(|unit| unit.to_string());
        address.room = Some(room.to_string());
        let id = format!("{}-{room}", building.id);
        let (building_id, grid) = (building.id.clone(), building.grid.clone());
        let owner = self.random_local_adult(&[]);
        let owners: Vec<CitizenId> = owner
            .map(|person| self.citizen_id(person))
            .into_iter()
            .collect();
        let draw = self.generator.real(0.0, 1.0);
        let rental = if draw < 0.55 {
            let tenant = self.random_owner(&owner.into_iter().collect::<Vec<_>>());
            RentalState::Rented { tenants: tenant }
        } else if draw < 0.9 {
            RentalState::OwnerOccupied
        } else {
            RentalState::Vacant
        };
        self.push_house(
            id,
            building_id,
            address,
            grid,
            usage,
            floor_area,
            owners,
            rental,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn push_house(
        &mut self,
        id: String,
        building_id: String,
        address: Address,
        grid: huimin_domain::identifiers::GridCode,
        usage: HouseUse,
        floor_area: f64,
        owners: Vec<CitizenId>,
        rental: RentalState,
    ) -> usize {
        let index = self.housing.houses.len();
        self.housing.houses.push(House {
            id,
            building_id,
            address,
            grid,
            usage,
            floor_area_m2: (floor_area.clamp(30.0, 200.0) * 100.0).round() / 100.0,
            owners,
            rental,
        });
        index
    }

    /// One adult of a local family, not among `excluded`, as the owner list of a house;
    /// nobody when the city has no such adults (a city of a handful of migrants).
    fn random_owner(&mut self, excluded: &[usize]) -> Vec<CitizenId> {
        self.random_local_adult(excluded)
            .map(|person| self.citizen_id(person))
            .into_iter()
            .collect()
    }

    fn random_local_adult(&mut self, excluded: &[usize]) -> Option<usize> {
        if self.owner_pool.is_empty() {
            return None;
        }
        (0..16)
            .map(|_| *self.generator.pick(&self.owner_pool))
            .find(|person| !excluded.contains(person))
    }

    fn citizen_id(&self, person: usize) -> CitizenId {
        self.population.persons[person].citizen_id.clone()
    }
}

/// A point strictly inside the rectangle, away from its edges.
fn point_inside(generator: &mut Generator, rectangle: Rect<f64>) -> GeoPoint {
    let (minimum, maximum) = (rectangle.min(), rectangle.max());
    let longitude =
        minimum.x + (maximum.x - minimum.x) * generator.real(GRID_MARGIN, 1.0 - GRID_MARGIN);
    let latitude =
        minimum.y + (maximum.y - minimum.y) * generator.real(GRID_MARGIN, 1.0 - GRID_MARGIN);
    GeoPoint {
        longitude,
        latitude,
    }
}

/// Residence addresses are the family's house; the household registration of local
/// families is there too, that of migrants is in their hometown. People who died or
/// emigrated keep the addresses of their last family.
fn write_addresses(generator: &mut Generator, population: &mut Population, housing: &Housing) {
    let house_lines: Vec<String> = housing
        .family_house
        .iter()
        .map(|&house| {
            housing
                .houses
                .get(house)
                .map(|house| house.address.line())
                .unwrap_or_default()
        })
        .collect();
    let hukou_lines: Vec<Option<String>> = population
        .families
        .iter()
        .map(|family| {
            family.hometown.map(|hometown| {
                format!(
                    "{}{}{}号",
                    hometown.full_name(),
                    generator.pick(names::COMMON_ROAD_NAMES),
                    generator.integer(1, 300)
                )
            })
        })
        .collect();
    for (person, fact) in population.persons.iter_mut().zip(&population.facts) {
        let line = &house_lines[fact.family];
        person.residence_address.clone_from(line);
        person.hukou_address = hukou_lines[fact.family]
            .clone()
            .unwrap_or_else(|| line.clone());
    }
}
