//! Names to the dense ids an engine gives them (permissions, attribute keys), looked up once per
//! name a request carries: the hash reads only a name's length and three of its words, where a
//! general string hash reads every byte, and a probe compares lengths before bytes. The same
//! in-place comparisons serve the conditions' texts (equal, prefix, suffix).

/// Names with the ids `0..len`, each name once.
#[derive(Debug)]
pub(crate) struct Names {
    /// Every name, one after the other, by id.
    text: String,
    /// Each name's cell, by id.
    by_id: Vec<Cell>,
    /// Open addressing, a power of two at least twice the names: a used cell holds its name's
    /// place in `text` and its id, so a probe reads the name's bytes straight from the cell
    /// (one dependent load fewer than through a list of names); an unused one is
    /// [`Cell::EMPTY`].
    cells: Box<[Cell]>,
    /// `64 - log2(cells.len())`: the hash's top bits pick the first cell.
    shift: u32,
}

/// A name's place in [`Names::text`] and its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cell {
    start: u32,
    len: u32,
    id: u32,
}

impl Cell {
    const EMPTY: Cell = Cell { start: 0, len: 0, id: u32::MAX };
}

impl Names {
    /// The id of a name.
    #[inline]
    pub fn get(&self, name: &str) -> Option<u32> {
        let mask = self.cells.len() - 1;
        let mut at = (hash(name.as_bytes()) >> self.shift) as usize;
        loop {
            let cell = *self.cells.get(at)?;
            if cell.id == Cell::EMPTY.id {
                return None;
            }
            if same_bytes(self.bytes(cell), name.as_bytes()) {
                return Some(cell.id);
            }
            at = (at + 1) & mask;
        }
    }

    /// The name with this id.
    pub fn name(&self, id: u32) -> &str {
        let cell = self.by_id[id as usize];
        &self.text[cell.start as usize..][..cell.len as usize]
    }

    /// Every name, by id.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.by_id.len() as u32).map(|id| self.name(id))
    }

    #[inline]
    fn bytes(&self, cell: Cell) -> &[u8] {
        let (start, len) = (cell.start as usize, cell.len as usize);
        self.text.as_bytes().get(start..start + len).unwrap_or_default()
    }
}

/// Whether two names are equal, compared a word at a time in place: for the few words of a
/// name, that is less work than a call to `memcmp`.
#[inline]
pub(crate) fn same(a: &str, b: &str) -> bool {
    same_bytes(a.as_bytes(), b.as_bytes())
}

/// Whether a text starts with a prefix, compared as [`same`] compares.
#[inline]
pub(crate) fn starts_with(text: &str, prefix: &str) -> bool {
    text.as_bytes().get(..prefix.len()).is_some_and(|head| same_bytes(head, prefix.as_bytes()))
}

/// Whether a text ends with a suffix, compared as [`same`] compares.
#[inline]
pub(crate) fn ends_with(text: &str, suffix: &str) -> bool {
    let start = text.len().wrapping_sub(suffix.len());
    text.as_bytes().get(start..).is_some_and(|tail| same_bytes(tail, suffix.as_bytes()))
}

#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let len = a.len();
    match len {
        16.. => {
            // Sixteen bytes at a time, each block compared in one vector instruction.
            let block = |s: &[u8]| -> [u8; 16] { s.try_into().expect("sixteen bytes") };
            let blocks = a.chunks_exact(16).zip(b.chunks_exact(16));
            // The last block overlaps the others when the length is no multiple of sixteen.
            blocks.into_iter().all(|(a, b)| block(a) == block(b)) && block(&a[len - 16..]) == block(&b[len - 16..])
        }
        8.. => {
            fn words(s: &[u8]) -> impl Iterator<Item = u64> + '_ {
                s.chunks_exact(8).map(|w| u64::from_le_bytes(w.try_into().expect("eight bytes")))
            }
            // The last word overlaps the others when the length is no multiple of eight.
            let last = |s: &[u8]| u64::from_le_bytes(s[len - 8..].try_into().expect("eight bytes"));
            words(a).eq(words(b)) && last(a) == last(b)
        }
        4.. => {
            let half = |s: &[u8], at: usize| u32::from_le_bytes(s[at..at + 4].try_into().expect("four bytes"));
            half(a, 0) == half(b, 0) && half(a, len - 4) == half(b, len - 4)
        }
        // Fewer than four bytes: compared one by one, not by a call.
        _ => a.iter().zip(b).all(|(a, b)| a == b),
    }
}

/// A name's length and its first, middle and last eight bytes (fewer for a shorter name),
/// mixed by one multiplication whose top bits pick a cell. Names that share a prefix (the
/// permissions of a service, the keys of a catalog) still differ in these words.
#[inline]
fn hash(name: &[u8]) -> u64 {
    let word = |at: usize| u64::from_le_bytes(name[at..at + 8].try_into().expect("eight bytes"));
    let len = name.len();
    let mixed = match len {
        8.. => word(0) ^ word(len / 2 - 4).rotate_left(21) ^ word(len - 8).rotate_left(42),
        _ => name.iter().fold(0, |w, &b| w << 8 | u64::from(b)),
    };
    (mixed ^ len as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// From `(name, id)` pairs whose ids are `0..n`, each once.
impl<S: AsRef<str>> FromIterator<(S, u32)> for Names {
    fn from_iter<I: IntoIterator<Item = (S, u32)>>(pairs: I) -> Names {
        let mut pairs: Vec<(S, u32)> = pairs.into_iter().collect();
        pairs.sort_unstable_by_key(|&(_, id)| id);
        assert!(pairs.iter().enumerate().all(|(i, &(_, id))| id as usize == i), "dense ids");
        let mut text = String::new();
        let by_id: Vec<Cell> = pairs
            .iter()
            .map(|(name, id)| {
                let start = u32::try_from(text.len()).expect("names of less than 4 GiB");
                text.push_str(name.as_ref());
                Cell { start, len: name.as_ref().len() as u32, id: *id }
            })
            .collect();
        let size = (by_id.len() * 2).next_power_of_two().max(8);
        let mut cells = vec![Cell::EMPTY; size].into_boxed_slice();
        let shift = 64 - size.trailing_zeros();
        for (&cell, (name, _)) in by_id.iter().zip(&pairs) {
            let mut at = (hash(name.as_ref().as_bytes()) >> shift) as usize;
            while cells[at] != Cell::EMPTY {
                at = (at + 1) & (size - 1);
            }
            cells[at] = cell;
        }
        Names { text, by_id, cells, shift }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_finds_its_id_and_no_other_name_finds_one() {
        let names: Vec<String> = (0..500)
            .map(|i| format!("storage:service-{}:read", i % 50) + &"x".repeat(i / 50))
            .chain(["", "a", "abcdefg", "abcdefgh"].map(String::from))
            .collect();
        let table: Names = names.iter().enumerate().map(|(i, n)| (n, i as u32)).collect();
        for (i, name) in names.iter().enumerate() {
            assert_eq!(table.get(name), Some(i as u32), "{name}");
            assert_eq!(table.name(i as u32), name);
        }
        for absent in ["b", "abcdefgi", "storage:service-1:write", "storage:service-1:reax", "storage:service-51:read"]
        {
            assert_eq!(table.get(absent), None, "{absent}");
        }
        assert_eq!(table.iter().count(), names.len());
    }

    #[test]
    fn names_are_the_same_and_prefixes_and_suffixes_only_byte_for_byte() {
        let names = ["", "a", "ab", "prod", "prods", "storage", "storage:", "storage:logs:read", "storage:logs:reae"];
        for a in names {
            for b in names {
                assert_eq!(same(a, b), a == b, "{a:?} {b:?}");
                assert_eq!(starts_with(a, b), a.starts_with(b), "{a:?} starts with {b:?}");
                assert_eq!(ends_with(a, b), a.ends_with(b), "{a:?} ends with {b:?}");
            }
        }
        for len in 0..40 {
            let a: String = (0..len).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
            for at in 0..len {
                let mut b = a.clone().into_bytes();
                b[at] = b'Z';
                assert!(!same(&a, std::str::from_utf8(&b).unwrap()), "{len} {at}");
            }
            assert!(same(&a, &a.clone()));
        }
    }
}
