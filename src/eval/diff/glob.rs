//! Regular sets of attribute values and the one question the search asks of them: *is there a
//! value in this set and in none of those, and which?*
//!
//! Every string operator denotes a union of globs over whole values: `= "v"` and `IN (…)` are
//! globs without a wildcard, `startsWith "v"` is `v*`, `MATCH` patterns are globs as written. A
//! glob is a small automaton (one state per position, a wildcard loops on its own state), so
//! the question is a breadth-first search of the product of the automata involved: the first
//! state where the wanted set accepts and no unwanted one does gives the shortest witness.
//! Characters that no glob names behave alike, so the search reads one fresh character for all
//! of them.

use rustc_hash::FxHashMap as HashMap;
use std::collections::VecDeque;

use super::error::Exhausted;

/// How many product states one question may visit before the diff gives up (it says so; it
/// never guesses).
const STATE_LIMIT: usize = 200_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Token {
    Char(char),
    Star,
}

/// A `*`-pattern over whole values.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct Glob(Vec<Token>);

impl Glob {
    /// Exactly `text`.
    pub fn literal(text: &str) -> Glob {
        Glob(text.chars().map(Token::Char).collect())
    }

    /// Every value that starts with `text`.
    pub fn prefix(text: &str) -> Glob {
        Glob::pieces(&[text, ""])
    }

    /// `piece0 * piece1 * … * pieceN`, the pieces literal.
    pub fn pieces<S: AsRef<str>>(pieces: &[S]) -> Glob {
        let mut tokens = Vec::new();
        for (i, piece) in pieces.iter().enumerate() {
            if i > 0 && tokens.last() != Some(&Token::Star) {
                tokens.push(Token::Star);
            }
            tokens.extend(piece.as_ref().chars().map(Token::Char));
        }
        Glob(tokens)
    }

    #[cfg(test)]
    fn matches(&self, value: &str) -> bool {
        let automaton = Automaton::new(&[self]);
        let mut state = automaton.start();
        for c in value.chars() {
            state = automaton.step(&state, c);
        }
        automaton.accepts(&state, 0)
    }
}

/// A set of values: the union of some globs (none: the empty set).
pub(super) type LanguageId = u32;

/// The languages of one diff, interned, with the answers to the questions already asked.
#[derive(Default)]
pub(super) struct Languages {
    languages: Vec<Vec<Glob>>,
    ids: HashMap<Vec<Glob>, LanguageId>,
    answers: HashMap<(Option<LanguageId>, Vec<LanguageId>), Option<String>>,
}

impl Languages {
    pub fn intern(&mut self, mut globs: Vec<Glob>) -> LanguageId {
        globs.sort_unstable();
        globs.dedup();
        if let Some(&id) = self.ids.get(&globs) {
            return id;
        }
        let id = self.languages.len() as LanguageId;
        self.languages.push(globs.clone());
        self.ids.insert(globs, id);
        id
    }

    /// A value in `wanted` (every value when `None`) and in none of `unwanted`: the shortest
    /// non-empty one, else the empty string, else `None` when there is no such value.
    pub fn witness(
        &mut self,
        wanted: Option<LanguageId>,
        unwanted: &[LanguageId],
    ) -> Result<Option<String>, Exhausted> {
        let mut unwanted = unwanted.to_vec();
        unwanted.sort_unstable();
        unwanted.dedup();
        let question = (wanted, unwanted);
        if let Some(answer) = self.answers.get(&question) {
            return Ok(answer.clone());
        }
        let everything = Glob(vec![Token::Star]);
        let inside: Vec<&Glob> = match wanted {
            Some(id) => self.languages[id as usize].iter().collect(),
            None => vec![&everything],
        };
        let outside: Vec<&Glob> = question.1.iter().flat_map(|&id| &self.languages[id as usize]).collect();
        let answer = search(&inside, &outside)?;
        self.answers.insert(question, answer.clone());
        Ok(answer)
    }
}

/// The product of the globs' automata; a state is one set of positions per glob, as bits.
struct Automaton<'g> {
    globs: Vec<&'g Glob>,
    /// Where each glob's bits start in a state, in 64-bit words.
    offsets: Vec<usize>,
    words: usize,
    /// The first position of each glob from which only wildcards remain, when it ends in one:
    /// a glob holding such a position accepts every continuation.
    open_tail: Vec<Option<usize>>,
}

type State = Box<[u64]>;

impl<'g> Automaton<'g> {
    fn new(globs: &[&'g Glob]) -> Automaton<'g> {
        let mut offsets = Vec::with_capacity(globs.len());
        let mut words = 0;
        for glob in globs {
            offsets.push(words);
            words += (glob.0.len() + 1).div_ceil(64);
        }
        let open_tail = globs
            .iter()
            .map(|glob| match glob.0.iter().rev().take_while(|t| **t == Token::Star).count() {
                0 => None,
                stars => Some(glob.0.len() - stars),
            })
            .collect();
        Automaton { globs: globs.to_vec(), offsets, words, open_tail }
    }

    fn get(&self, state: &[u64], glob: usize, position: usize) -> bool {
        let bit = self.offsets[glob] * 64 + position;
        state[bit / 64] & (1 << (bit % 64)) != 0
    }

    fn set(&self, state: &mut [u64], glob: usize, position: usize) {
        let bit = self.offsets[glob] * 64 + position;
        state[bit / 64] |= 1 << (bit % 64);
    }

    /// Adds the positions a wildcard reaches without reading anything (it may match nothing).
    fn close(&self, state: &mut [u64]) {
        for (g, glob) in self.globs.iter().enumerate() {
            for (position, token) in glob.0.iter().enumerate() {
                if *token == Token::Star && self.get(state, g, position) {
                    self.set(state, g, position + 1);
                }
            }
        }
    }

    fn start(&self) -> State {
        let mut state = vec![0u64; self.words].into_boxed_slice();
        for g in 0..self.globs.len() {
            self.set(&mut state, g, 0);
        }
        self.close(&mut state);
        state
    }

    fn step(&self, state: &[u64], c: char) -> State {
        let mut next = vec![0u64; self.words].into_boxed_slice();
        for (g, glob) in self.globs.iter().enumerate() {
            for (position, token) in glob.0.iter().enumerate() {
                if !self.get(state, g, position) {
                    continue;
                }
                match *token {
                    Token::Char(d) if d == c => self.set(&mut next, g, position + 1),
                    Token::Star => self.set(&mut next, g, position),
                    Token::Char(_) => {}
                }
            }
        }
        self.close(&mut next);
        next
    }

    /// Whether some of the first `inside` globs accepts.
    fn accepts(&self, state: &[u64], glob: usize) -> bool {
        self.get(state, glob, self.globs[glob].0.len())
    }

    fn holds_any(&self, state: &[u64], glob: usize) -> bool {
        (0..=self.globs[glob].0.len()).any(|p| self.get(state, glob, p))
    }

    fn accepts_everything_after(&self, state: &[u64], glob: usize) -> bool {
        self.open_tail[glob].is_some_and(|tail| (tail..=self.globs[glob].0.len()).any(|p| self.get(state, glob, p)))
    }
}

/// Breadth-first search of the product for a value the first `inside.len()` globs accept (one
/// of them) and the `outside` ones do not (none of them).
fn search(inside: &[&Glob], outside: &[&Glob]) -> Result<Option<String>, Exhausted> {
    if inside.is_empty() {
        return Ok(None);
    }
    let globs: Vec<&Glob> = inside.iter().chain(outside).copied().collect();
    let automaton = Automaton::new(&globs);
    let wanted = 0..inside.len();
    let unwanted = inside.len()..globs.len();
    let accepting = |state: &[u64]| {
        wanted.clone().any(|g| automaton.accepts(state, g)) && !unwanted.clone().any(|g| automaton.accepts(state, g))
    };
    // No continuation can be accepted: every wanted glob is stuck, or an unwanted one takes all.
    let dead = |state: &[u64]| {
        !wanted.clone().any(|g| automaton.holds_any(state, g))
            || unwanted.clone().any(|g| automaton.accepts_everything_after(state, g))
    };
    let alphabet = alphabet(&globs);

    let start = automaton.start();
    if dead(&start) {
        return Ok(None);
    }
    let empty_accepted = accepting(&start);
    // Each visited state with the state and character it was reached from.
    let mut trail: Vec<(usize, char)> = vec![(0, '\0')];
    let mut seen: HashMap<State, usize> = HashMap::default();
    seen.insert(start.clone(), 0);
    let mut queue = VecDeque::from([(start.clone(), 0usize)]);
    while let Some((state, index)) = queue.pop_front() {
        for &c in &alphabet {
            let next = automaton.step(&state, c);
            // Back at the start: a non-empty value accepted as the empty one is.
            if empty_accepted && next == start {
                trail.push((index, c));
                return Ok(Some(spell(&trail, trail.len() - 1)));
            }
            if seen.contains_key(&next) || dead(&next) {
                continue;
            }
            let next_index = trail.len();
            trail.push((index, c));
            if accepting(&next) {
                return Ok(Some(spell(&trail, next_index)));
            }
            if trail.len() > STATE_LIMIT {
                return Err(Exhausted);
            }
            seen.insert(next.clone(), next_index);
            queue.push_back((next, next_index));
        }
    }
    Ok(empty_accepted.then(String::new))
}

/// The characters the globs name, after one that none names (it stands for all the others).
fn alphabet(globs: &[&Glob]) -> Vec<char> {
    let mut named: Vec<char> = globs
        .iter()
        .flat_map(|g| &g.0)
        .filter_map(|t| match t {
            Token::Char(c) => Some(*c),
            Token::Star => None,
        })
        .collect();
    named.sort_unstable();
    named.dedup();
    let fresh = "xyzqkw0123456789"
        .chars()
        .chain((0x100..).filter_map(char::from_u32))
        .find(|c| named.binary_search(c).is_err())
        .expect("some character is not named");
    std::iter::once(fresh).chain(named).collect()
}

fn spell(trail: &[(usize, char)], mut index: usize) -> String {
    let mut reversed = Vec::new();
    while index != 0 {
        let (parent, c) = trail[index];
        reversed.push(c);
        index = parent;
    }
    reversed.into_iter().rev().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(wanted: Option<Vec<Glob>>, unwanted: Vec<Vec<Glob>>) -> Option<String> {
        let mut languages = Languages::default();
        let wanted = wanted.map(|w| languages.intern(w));
        let unwanted: Vec<LanguageId> = unwanted.into_iter().map(|u| languages.intern(u)).collect();
        languages.witness(wanted, &unwanted).unwrap()
    }

    #[test]
    fn globs_match_whole_values() {
        let g = Glob::pieces(&["a", "b", "a"]);
        assert!(g.matches("aba") && g.matches("abba") && !g.matches("ab"));
        assert!(Glob::prefix("team-").matches("team-") && !Glob::prefix("team-").matches("team"));
        assert!(Glob::literal("a*").matches("a*") && !Glob::literal("a*").matches("ab"));
        assert!(Glob::pieces(&["", ""]).matches(""));
    }

    #[test]
    fn witnesses_are_short_and_avoid_the_unwanted_sets() {
        let l = |s: &str| vec![Glob::literal(s)];
        assert_eq!(ask(Some(l("team-a")), vec![]), Some("team-a".into()));
        assert_eq!(ask(Some(vec![Glob::literal("a"), Glob::literal("b")]), vec![l("a")]), Some("b".into()));
        assert_eq!(ask(Some(l("a")), vec![vec![Glob::prefix("")]]), None);
        assert_eq!(ask(None, vec![l("a"), l("b")]), Some("x".into()));
        assert_eq!(ask(None, vec![vec![Glob::pieces(&["", "", ""])]]), None);
        assert_eq!(ask(None, vec![vec![Glob::pieces(&["?", ""]), Glob::pieces(&["", "?"])]]), Some("x".into()));
        // `kube-*` but not `*-system`, `kube-a*`: the search walks past the prefix.
        let wanted = vec![Glob::prefix("kube-")];
        let answer = ask(Some(wanted), vec![vec![Glob::pieces(&["", "-system"]), Glob::prefix("kube-a")]]);
        assert_eq!(answer, Some("kube-".into()));
        // `a*b` minus `ab`, `a*ab` and `a*bb`: needs a third character, any other than `a`, `b`.
        let unwanted = vec![l("ab"), vec![Glob::pieces(&["a", "ab"])], vec![Glob::pieces(&["a", "bb"])]];
        assert_eq!(ask(Some(vec![Glob::pieces(&["a", "b"])]), unwanted), Some("axb".into()));
    }

    /// A glob and the evaluator's own matcher for the same pattern text.
    fn pattern() -> impl proptest::strategy::Strategy<Value = (Glob, crate::eval::value::Pattern)> {
        use proptest::strategy::Strategy;
        "[ab*]{0,4}".prop_map(|text| {
            let pattern = crate::eval::value::Pattern::compile(&text);
            (Glob::pieces(pattern.pieces()), pattern)
        })
    }

    proptest::proptest! {
        /// Against every string of up to five characters over `a`, `b` and one other: a witness
        /// is in the wanted set and no unwanted one (as the evaluator matches), and "none" means
        /// brute force finds none either.
        #[test]
        fn witnesses_agree_with_brute_force(
            wanted in proptest::collection::vec(pattern(), 1..3),
            unwanted in proptest::collection::vec(pattern(), 0..4),
        ) {
            let inside = |v: &str| wanted.iter().any(|(_, p)| p.matches(v));
            let outside = |v: &str| unwanted.iter().any(|(_, p)| p.matches(v));
            let answer = ask(Some(wanted.iter().map(|(g, _)| g.clone()).collect()), unwanted.iter().map(|(g, _)| vec![g.clone()]).collect());
            let mut strings = vec![String::new()];
            for _ in 0..5 {
                let longer: Vec<String> = strings.iter().flat_map(|s| ["a", "b", "c"].map(|c| format!("{s}{c}"))).collect();
                strings.extend(longer);
                strings.sort();
                strings.dedup();
            }
            let brute = strings.iter().find(|s| inside(s) && !outside(s));
            match &answer {
                Some(value) => proptest::prop_assert!(inside(value) && !outside(value), "{value:?}"),
                None => proptest::prop_assert!(brute.is_none(), "missed {brute:?}"),
            }
            // The shortest non-empty value comes first, the empty one last.
            if let (Some(value), Some(_)) = (&answer, brute) {
                let shortest = strings.iter().filter(|s| !s.is_empty() && inside(s) && !outside(s)).map(|s| s.chars().count()).min();
                proptest::prop_assert_eq!(shortest.unwrap_or(0), value.chars().count());
            }
        }
    }

    #[test]
    fn the_empty_value_is_a_last_resort() {
        let l = |s: &str| vec![Glob::literal(s)];
        assert_eq!(ask(Some(vec![Glob::literal(""), Glob::literal("a")]), vec![l("a")]), Some(String::new()));
        assert_eq!(ask(Some(vec![Glob::literal(""), Glob::literal("a")]), vec![]), Some("a".into()));
        // The fresh character is one no glob names.
        let unwanted = vec![vec![Glob::prefix("x"), Glob::prefix("a")]];
        assert_eq!(ask(Some(vec![Glob::pieces(&["", ""])]), unwanted), Some("y".into()));
    }
}
