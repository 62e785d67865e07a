//! Regular sets of attribute values and the one question the search asks of them: *is there a
//! value in this set and in none of those, and which?*
//!
//! Every string operator denotes a union of globs over whole values: `= "v"` and `IN (…)` are
//! globs without a wildcard, `startsWith "v"` is `v*`, `MATCH` patterns are globs as written. A
//! glob is a small automaton (one state per position, a wildcard loops on its own state), so
//! the question is a breadth-first search of the product of the automata involved: the first
//! state where the wanted set accepts and no unwanted one does gives the shortest witness.
//! Characters that no glob names behave alike, so the search reads one fresh character for all
//! of them. Globs without a wildcard (the values of `=` and `IN` lists, which may be long) are
//! kept as sets of words: one trie in the product instead of one automaton per value, and no
//! search at all when the wanted set holds words only (they are tried, shortest first).

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
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

    /// The one value of a glob without a wildcard.
    fn word(&self) -> Option<String> {
        self.0
            .iter()
            .map(|t| match t {
                Token::Char(c) => Some(*c),
                Token::Star => None,
            })
            .collect()
    }

    fn chars(&self) -> impl Iterator<Item = char> + '_ {
        self.0.iter().filter_map(|t| match t {
            Token::Char(c) => Some(*c),
            Token::Star => None,
        })
    }

    fn matches(&self, value: &str) -> bool {
        let automaton = Automaton::new(&[self], Trie::default(), Trie::default());
        let mut state = automaton.start();
        for c in value.chars() {
            state = automaton.step(&state, c);
        }
        automaton.accepts(&state, 0)
    }
}

/// A set of values: the union of some globs (none: the empty set).
pub(super) type LanguageId = u32;

/// A language split for the search: its globs with wildcards, and its words.
#[derive(Debug)]
struct Language {
    globs: Vec<Glob>,
    /// Shortest first, then in order.
    words: Vec<String>,
    set: HashSet<String>,
}

impl Language {
    fn new(globs: &[Glob]) -> Language {
        let (mut words, mut starred) = (Vec::new(), Vec::new());
        for glob in globs {
            match glob.word() {
                Some(word) => words.push(word),
                None => starred.push(glob.clone()),
            }
        }
        words.sort_by(|a, b| (a.chars().count(), a).cmp(&(b.chars().count(), b)));
        let set = words.iter().cloned().collect();
        Language { globs: starred, words, set }
    }

    fn holds(&self, value: &String) -> bool {
        self.set.contains(value) || self.globs.iter().any(|g| g.matches(value))
    }
}

/// Words as a trie: a node per prefix; `GONE` past every word.
#[derive(Default)]
struct Trie {
    next: HashMap<(u32, char), u32>,
    ends: Vec<bool>,
}

const GONE: u32 = u32::MAX;

impl Trie {
    fn of<'w>(words: impl IntoIterator<Item = &'w String>) -> Trie {
        let mut trie = Trie::default();
        for word in words {
            if trie.ends.is_empty() {
                trie.ends.push(false);
            }
            let mut node = 0;
            for c in word.chars() {
                let fresh = trie.ends.len() as u32;
                node = *trie.next.entry((node, c)).or_insert(fresh);
                if node == fresh {
                    trie.ends.push(false);
                }
            }
            trie.ends[node as usize] = true;
        }
        trie
    }

    /// The root, or `GONE` for a trie of no words.
    fn root(&self) -> u32 {
        if self.ends.is_empty() { GONE } else { 0 }
    }

    fn step(&self, node: u32, c: char) -> u32 {
        match node {
            GONE => GONE,
            _ => self.next.get(&(node, c)).copied().unwrap_or(GONE),
        }
    }

    fn ends(&self, node: u32) -> bool {
        node != GONE && self.ends[node as usize]
    }

    fn chars(&self) -> impl Iterator<Item = char> + '_ {
        self.next.keys().map(|(_, c)| *c)
    }
}

/// The languages of one diff, interned, with the answers to the questions already asked.
#[derive(Default)]
pub(super) struct Languages {
    languages: Vec<Language>,
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
        self.languages.push(Language::new(&globs));
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
        let outside: Vec<&Language> = question.1.iter().map(|&id| &self.languages[id as usize]).collect();
        let answer = match wanted.map(|id| &self.languages[id as usize]) {
            // Words only: the first that nothing unwanted holds, the empty one last.
            Some(inside) if inside.globs.is_empty() => {
                let mut free = inside.words.iter().filter(|w| !outside.iter().any(|l| l.holds(w)));
                match free.next() {
                    Some(empty) if empty.is_empty() => Some(free.next().unwrap_or(empty).clone()),
                    other => other.cloned(),
                }
            }
            inside => {
                let everything = [Glob(vec![Token::Star])];
                let (globs, words): (&[Glob], &[String]) = match inside {
                    Some(language) => (&language.globs, &language.words),
                    None => (&everything, &[]),
                };
                let inside: Vec<&Glob> = globs.iter().collect();
                let outside_globs: Vec<&Glob> = outside.iter().flat_map(|l| &l.globs).collect();
                let outside_words = Trie::of(outside.iter().flat_map(|l| &l.words));
                search(&inside, Trie::of(words), &outside_globs, outside_words)?
            }
        };
        self.answers.insert(question, answer.clone());
        Ok(answer)
    }
}

/// The product of the globs' automata and two tries (the words wanted, the words unwanted); a
/// state is one set of positions per glob, as bits, then the two tries' nodes.
struct Automaton<'g> {
    globs: Vec<&'g Glob>,
    /// Where each glob's bits start in a state, in 64-bit words.
    offsets: Vec<usize>,
    /// The 64-bit words of the globs' bits; the tries' nodes follow them.
    bits: usize,
    /// The first position of each glob from which only wildcards remain, when it ends in one:
    /// a glob holding such a position accepts every continuation.
    open_tail: Vec<Option<usize>>,
    wanted_words: Trie,
    unwanted_words: Trie,
}

type State = Box<[u64]>;

impl<'g> Automaton<'g> {
    fn new(globs: &[&'g Glob], wanted_words: Trie, unwanted_words: Trie) -> Automaton<'g> {
        let mut offsets = Vec::with_capacity(globs.len());
        let mut bits = 0;
        for glob in globs {
            offsets.push(bits);
            bits += (glob.0.len() + 1).div_ceil(64);
        }
        let open_tail = globs
            .iter()
            .map(|glob| match glob.0.iter().rev().take_while(|t| **t == Token::Star).count() {
                0 => None,
                stars => Some(glob.0.len() - stars),
            })
            .collect();
        Automaton { globs: globs.to_vec(), offsets, bits, open_tail, wanted_words, unwanted_words }
    }

    fn get(&self, state: &[u64], glob: usize, position: usize) -> bool {
        let bit = self.offsets[glob] * 64 + position;
        state[bit / 64] & (1 << (bit % 64)) != 0
    }

    fn set(&self, state: &mut [u64], glob: usize, position: usize) {
        let bit = self.offsets[glob] * 64 + position;
        state[bit / 64] |= 1 << (bit % 64);
    }

    /// The wanted and the unwanted trie's nodes.
    fn nodes(&self, state: &[u64]) -> (u32, u32) {
        (state[self.bits] as u32, state[self.bits + 1] as u32)
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
        let mut state = vec![0u64; self.bits + 2].into_boxed_slice();
        for g in 0..self.globs.len() {
            self.set(&mut state, g, 0);
        }
        self.close(&mut state);
        state[self.bits] = u64::from(self.wanted_words.root());
        state[self.bits + 1] = u64::from(self.unwanted_words.root());
        state
    }

    fn step(&self, state: &[u64], c: char) -> State {
        let mut next = vec![0u64; self.bits + 2].into_boxed_slice();
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
        let (wanted, unwanted) = self.nodes(state);
        next[self.bits] = u64::from(self.wanted_words.step(wanted, c));
        next[self.bits + 1] = u64::from(self.unwanted_words.step(unwanted, c));
        next
    }

    /// Whether a glob accepts what was read.
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

/// Breadth-first search of the product for a value one of the `inside` globs or wanted words
/// accepts, and none of the `outside` globs or unwanted words does.
fn search(
    inside: &[&Glob],
    wanted_words: Trie,
    outside: &[&Glob],
    unwanted_words: Trie,
) -> Result<Option<String>, Exhausted> {
    if inside.is_empty() && wanted_words.root() == GONE {
        return Ok(None);
    }
    let globs: Vec<&Glob> = inside.iter().chain(outside).copied().collect();
    let named = globs.iter().flat_map(|g| g.chars()).chain(wanted_words.chars()).chain(unwanted_words.chars());
    let alphabet = alphabet(named.collect());
    let automaton = Automaton::new(&globs, wanted_words, unwanted_words);
    let wanted = 0..inside.len();
    let unwanted = inside.len()..globs.len();
    let accepting = |state: &[u64]| {
        let (wanted_node, unwanted_node) = automaton.nodes(state);
        (wanted.clone().any(|g| automaton.accepts(state, g)) || automaton.wanted_words.ends(wanted_node))
            && !unwanted.clone().any(|g| automaton.accepts(state, g))
            && !automaton.unwanted_words.ends(unwanted_node)
    };
    // No continuation can be accepted: everything wanted is stuck, or something unwanted takes all.
    let dead = |state: &[u64]| {
        let (wanted_node, _) = automaton.nodes(state);
        (wanted_node == GONE && !wanted.clone().any(|g| automaton.holds_any(state, g)))
            || unwanted.clone().any(|g| automaton.accepts_everything_after(state, g))
    };

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

/// The characters named, after one that none is (it stands for all the others).
fn alphabet(mut named: Vec<char>) -> Vec<char> {
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
    fn long_lists_are_sets_of_words() {
        let values: Vec<Glob> = (0..20_000).map(|i| Glob::literal(&format!("value-{i}"))).collect();
        let all_but_one: Vec<Glob> = values.iter().filter(|g| **g != Glob::literal("value-7777")).cloned().collect();
        assert_eq!(ask(Some(values.clone()), vec![all_but_one.clone()]), Some("value-7777".into()));
        assert_eq!(ask(Some(values.clone()), vec![values.clone()]), None);
        // `value-*` but none of the list: past the list's words.
        assert_eq!(ask(Some(vec![Glob::prefix("value-")]), vec![values]), Some("value-".into()));
        let unwanted = vec![all_but_one, vec![Glob::literal("value-")]];
        assert_eq!(ask(Some(vec![Glob::prefix("value-")]), unwanted), Some("value-x".into()));
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
