//! The search: a request on which the two sides decide differently, or the proof that there is
//! none. See the module documentation of [`super`] for the cases it tries.
//!
//! Each atom has a domain, a subset of {false, true, absent} (time atoms are never absent).
//! What a case demands of statements becomes demands on atoms: *units* (this literal must be
//! true, or not false) and *clauses* (one of these literals must be false, or not true). The
//! search propagates units, checks that every attribute's demands can be met by one request
//! value, and branches on the open clause with the fewest literals left: literal 1 holds, or
//! it does not and literal 2 holds, and so on. The branches cover every assignment, so finding
//! nothing is a proof.

use super::error::Exhausted;
use super::glob::{LanguageId, Languages};
use super::model::{Atom, AtomId, Literal, Problem, Rule, Side};

/// A subset of {false, true, absent}.
type Mask = u8;
const FALSE: Mask = 1;
const TRUE: Mask = 2;
const ABSENT: Mask = 4;
const PRESENT: Mask = FALSE | TRUE;

/// How many nodes one search (one choice of statements in one case) may visit before the diff
/// gives up: it says so, it never guesses. The choices themselves are polynomially many.
const NODE_LIMIT: usize = 100_000;

/// An atom and the values it may take for a literal to be what a case needs.
type Demand = (AtomId, Mask);
type Clause = Vec<Demand>;

/// A request found by the search: each attribute's elements (absent when missing), and the
/// moment of the time when time conditions take part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Found {
    pub attributes: Vec<(String, Vec<String>)>,
    pub moment: Option<usize>,
}

/// What a literal's truth (true, false, unknown) asks of its atom's value.
fn literal_mask(literal: Literal, truth: Mask) -> Mask {
    let mut mask = truth & ABSENT;
    if truth & TRUE != 0 {
        mask |= if literal.negative { FALSE } else { TRUE };
    }
    if truth & FALSE != 0 {
        mask |= if literal.negative { TRUE } else { FALSE };
    }
    mask
}

/// The rule is True: every literal true. `None` when it never can be.
fn is_true(rule: &Rule) -> Option<Vec<Demand>> {
    (!rule.never_true).then(|| rule.literals.iter().map(|&l| (l.atom, literal_mask(l, TRUE))).collect())
}

/// The rule is not False: no literal false.
fn is_not_false(rule: &Rule) -> Vec<Demand> {
    rule.literals.iter().map(|&l| (l.atom, literal_mask(l, TRUE | ABSENT))).collect()
}

/// The rule is False: some literal false (an empty clause: it cannot be).
fn is_false(rule: &Rule) -> Clause {
    rule.literals.iter().map(|&l| (l.atom, literal_mask(l, FALSE))).collect()
}

/// The rule is not True: some literal false or unknown. `None` when that always holds.
fn is_not_true(rule: &Rule) -> Option<Clause> {
    (!rule.never_true).then(|| rule.literals.iter().map(|&l| (l.atom, literal_mask(l, FALSE | ABSENT))).collect())
}

pub(super) struct Solver<'p> {
    problem: &'p Problem,
    languages: &'p mut Languages,
    nodes: usize,
}

impl<'p> Solver<'p> {
    pub fn new(problem: &'p Problem, languages: &'p mut Languages) -> Solver<'p> {
        Solver { problem, languages, nodes: 0 }
    }

    /// A request the `to` side decides higher than the `from` side (Allow above Conditional
    /// above Deny), preferring one that `to` allows outright.
    pub fn gain(&mut self, from: usize, to: usize) -> Result<Option<Found>, Exhausted> {
        let (before, after): (&Side, &Side) = (&self.problem.sides[from], &self.problem.sides[to]);
        let denies_false: Vec<Clause> = after.denies.iter().map(is_false).collect();
        let denies_not_true: Vec<Clause> = after.denies.iter().filter_map(is_not_true).collect();
        let allowed_before_not_true: Vec<Clause> = before.allows.iter().filter_map(is_not_true).collect();
        let allowed_before_false: Vec<Clause> = before.allows.iter().map(is_false).collect();
        // A rule on both sides cannot be the one that differs (see the module documentation).
        let new_allows: Vec<&Rule> = after.allows.iter().filter(|r| !before.allows.contains(r)).collect();
        let dropped_denies: Vec<&Rule> = before.denies.iter().filter(|r| !after.denies.contains(r)).collect();

        // Allowed after; before, no ALLOW true (G1) or a DENY not false (G2).
        let g1_clauses: Vec<&Clause> = denies_false.iter().chain(&allowed_before_not_true).collect();
        for allow in &new_allows {
            let Some(units) = is_true(allow) else { continue };
            if let Some(found) = self.search(&units, &g1_clauses)? {
                return Ok(Some(found));
            }
        }
        let g2_clauses: Vec<&Clause> = denies_false.iter().collect();
        for deny in &dropped_denies {
            for allow in &after.allows {
                let Some(mut units) = is_true(allow) else { continue };
                units.extend(is_not_false(deny));
                if let Some(found) = self.search(&units, &g2_clauses)? {
                    return Ok(Some(found));
                }
            }
        }
        // Allowed or conditional after; before, a DENY true (G3) or every ALLOW false (G4).
        let g3_clauses: Vec<&Clause> = denies_not_true.iter().collect();
        for deny in &dropped_denies {
            let Some(deny_units) = is_true(deny) else { continue };
            for allow in &after.allows {
                let mut units = is_not_false(allow);
                units.extend(&deny_units);
                if let Some(found) = self.search(&units, &g3_clauses)? {
                    return Ok(Some(found));
                }
            }
        }
        let g4_clauses: Vec<&Clause> = denies_not_true.iter().chain(&allowed_before_false).collect();
        for allow in &new_allows {
            if let Some(found) = self.search(&is_not_false(allow), &g4_clauses)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// A request the side allows or answers Conditional.
    pub fn holds(&mut self, side: usize) -> Result<Option<Found>, Exhausted> {
        let side = &self.problem.sides[side];
        let denies_not_true: Vec<Clause> = side.denies.iter().filter_map(is_not_true).collect();
        let clauses: Vec<&Clause> = denies_not_true.iter().collect();
        for allow in &side.allows {
            if let Some(found) = self.search(&is_not_false(allow), &clauses)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    fn search(&mut self, units: &[Demand], clauses: &[&Clause]) -> Result<Option<Found>, Exhausted> {
        self.nodes = 0;
        let mut domains: Vec<Mask> = self
            .problem
            .atoms
            .iter()
            .map(|atom| match atom {
                Atom::Attribute { .. } => PRESENT | ABSENT,
                Atom::Time { .. } => PRESENT,
            })
            .collect();
        for &(atom, mask) in units {
            domains[atom] &= mask;
            if domains[atom] == 0 {
                return Ok(None);
            }
        }
        let open: Vec<&Clause> = clauses.to_vec();
        self.descend(domains, open)
    }

    fn descend(&mut self, mut domains: Vec<Mask>, mut open: Vec<&Clause>) -> Result<Option<Found>, Exhausted> {
        self.nodes += 1;
        if self.nodes > NODE_LIMIT {
            return Err(Exhausted);
        }
        if !self.propagate(&mut domains, &mut open)? {
            return Ok(None);
        }
        let Some(index) = (0..open.len()).min_by_key(|&i| live(open[i], &domains).count()) else {
            return self.realize(&domains);
        };
        let clause = open.swap_remove(index);
        let choices: Vec<Demand> = live(clause, &domains).collect();
        for (i, &(atom, mask)) in choices.iter().enumerate() {
            // This literal holds, and none before it (those were tried already).
            let mut next = domains.clone();
            for &(earlier, earlier_mask) in &choices[..i] {
                next[earlier] &= !earlier_mask;
            }
            next[atom] &= mask;
            if next.contains(&0) {
                continue;
            }
            if let Some(found) = self.descend(next, open.clone())? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// Unit propagation to a fixed point, with the attribute and time checks; `false` on a
    /// conflict.
    fn propagate(&mut self, domains: &mut [Mask], open: &mut Vec<&Clause>) -> Result<bool, Exhausted> {
        loop {
            let mut changed = false;
            let mut i = 0;
            while i < open.len() {
                let clause = open[i];
                if clause.iter().any(|&(atom, mask)| domains[atom] & !mask == 0) {
                    open.swap_remove(i);
                    continue;
                }
                let first_two = {
                    let mut live = live(clause, domains);
                    (live.next(), live.next())
                };
                match first_two {
                    (None, _) => return Ok(false),
                    (Some((atom, mask)), None) => {
                        domains[atom] &= mask;
                        changed = true;
                        open.swap_remove(i);
                    }
                    _ => i += 1,
                }
            }
            match (self.settle_keys(domains)?, self.settle_time(domains)) {
                (Some(keys), Some(time)) => changed |= keys || time,
                _ => return Ok(false),
            }
            if !changed {
                return Ok(true);
            }
        }
    }

    /// Each attribute is either absent (all its atoms unknown) or a list of values meeting its
    /// atoms' demands. Narrows the domains to what is left; `None` when neither is possible.
    fn settle_keys(&mut self, domains: &mut [Mask]) -> Result<Option<bool>, Exhausted> {
        let mut changed = false;
        for (_, atoms) in &self.problem.keys {
            let absent = atoms.iter().all(|&a| domains[a] & ABSENT != 0);
            let present = atoms.iter().all(|&a| domains[a] & PRESENT != 0) && self.elements(atoms, domains)?.is_some();
            let keep = match (absent, present) {
                (false, false) => return Ok(None),
                (true, false) => ABSENT,
                (false, true) => PRESENT,
                (true, true) => continue,
            };
            for &a in atoms {
                changed |= domains[a] & !keep != 0;
                domains[a] &= keep;
            }
        }
        Ok(Some(changed))
    }

    /// The moments the time atoms' domains allow must not run out; each atom keeps only the
    /// values some such moment gives it. `None` when none is left.
    fn settle_time(&self, domains: &mut [Mask]) -> Option<bool> {
        let problem = self.problem;
        if problem.time_atoms.is_empty() {
            return Some(false);
        }
        let mut seen = vec![0 as Mask; problem.time_atoms.len()];
        let mut any = false;
        for moment in &problem.moments {
            if self.fits(moment, domains) {
                any = true;
                for (slot, truth) in moment.truths.iter().enumerate() {
                    seen[slot] |= if *truth { TRUE } else { FALSE };
                }
            }
        }
        if !any {
            return None;
        }
        let mut changed = false;
        for &atom in &problem.time_atoms {
            let Atom::Time { slot } = problem.atoms[atom] else { continue };
            changed |= domains[atom] & !seen[slot] != 0;
            domains[atom] &= seen[slot];
        }
        Some(changed)
    }

    fn fits(&self, moment: &super::time::Moment, domains: &[Mask]) -> bool {
        self.problem.time_atoms.iter().all(|&atom| {
            let Atom::Time { slot } = self.problem.atoms[atom] else { return true };
            domains[atom] & if moment.truths[slot] { TRUE } else { FALSE } != 0
        })
    }

    /// A list of values for one attribute: an element in each language its atoms must hit, none
    /// in a language they must miss. One value when nothing must be hit, the empty list when
    /// even that is impossible; `None` when the demands cannot be met.
    fn elements(&mut self, atoms: &[AtomId], domains: &[Mask]) -> Result<Option<Vec<String>>, Exhausted> {
        let language = |atom: AtomId| match self.problem.atoms[atom] {
            Atom::Attribute { language } => language,
            Atom::Time { .. } => unreachable!("attributes have attribute atoms"),
        };
        let mut hit: Vec<LanguageId> = Vec::new();
        let mut miss: Vec<LanguageId> = Vec::new();
        for &atom in atoms {
            match domains[atom] & PRESENT {
                TRUE => hit.push(language(atom)),
                FALSE => miss.push(language(atom)),
                _ => {}
            }
        }
        if hit.is_empty() {
            return Ok(Some(self.languages.witness(None, &miss)?.into_iter().collect()));
        }
        let mut elements: Vec<String> = Vec::new();
        for wanted in hit {
            match self.languages.witness(Some(wanted), &miss)? {
                Some(element) if !elements.contains(&element) => elements.push(element),
                Some(_) => {}
                None => return Ok(None),
            }
        }
        Ok(Some(elements))
    }

    /// A request inside the domains: absent attributes wherever allowed, else their elements;
    /// the first moment that fits.
    fn realize(&mut self, domains: &[Mask]) -> Result<Option<Found>, Exhausted> {
        let mut attributes = Vec::new();
        for (key, atoms) in &self.problem.keys {
            if atoms.iter().all(|&a| domains[a] & ABSENT != 0) {
                continue;
            }
            match self.elements(atoms, domains)? {
                Some(elements) => attributes.push((key.clone(), elements)),
                None => return Ok(None),
            }
        }
        let moment = match self.problem.time_atoms.is_empty() {
            true => None,
            false => match self.problem.moments.iter().position(|m| self.fits(m, domains)) {
                Some(moment) => Some(moment),
                None => return Ok(None),
            },
        };
        Ok(Some(Found { attributes, moment }))
    }
}

/// The literals of a clause its atoms' domains still allow.
fn live<'c>(clause: &'c Clause, domains: &'c [Mask]) -> impl Iterator<Item = Demand> + 'c {
    clause.iter().copied().filter(|&(atom, mask)| domains[atom] & mask != 0)
}
