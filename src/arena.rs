//! Storage that grows without reallocating what it already holds: the log's records and the
//! text of their data live in fixed-size chunks. WebAssembly memory never shrinks, so a
//! doubling `Vec` of a million records would keep the old and the new buffer (1.5× the data)
//! as its high-water mark forever; chunks keep it at the data plus one chunk.

/// Records per chunk of a [`ChunkedVec`].
const CHUNK: usize = 8192;

/// A vector of fixed-size chunks.
#[derive(Debug)]
pub struct ChunkedVec<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for ChunkedVec<T> {
    fn default() -> Self {
        ChunkedVec {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> ChunkedVec<T> {
    pub fn push(&mut self, value: T) {
        if self.len % CHUNK == 0 {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        if let Some(chunk) = self.chunks.last_mut() {
            chunk.push(value);
            self.len += 1;
        }
    }

    pub fn get(&self, index: usize) -> Option<&T> {
        self.chunks.get(index / CHUNK)?.get(index % CHUNK)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn last(&self) -> Option<&T> {
        self.chunks.last()?.last()
    }

    /// The first index where `pred` is false (like `slice::partition_point`).
    pub fn partition_point(&self, pred: impl Fn(&T) -> bool) -> usize {
        let chunk = self.chunks.partition_point(|c| c.last().is_some_and(&pred));
        match self.chunks.get(chunk) {
            Some(c) => chunk * CHUNK + c.partition_point(&pred),
            None => self.len,
        }
    }
}

/// Where a text lives in a [`TextArena`]: 4 bytes on 32-bit targets (wasm: a chunk index of
/// 12 bits and an offset of 20 bits, enough for all of a 4 GiB memory), 8 bytes elsewhere.
#[cfg(target_pointer_width = "32")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextRef(u32);

#[cfg(target_pointer_width = "32")]
impl TextRef {
    fn new(chunk: usize, offset: usize) -> Self {
        TextRef(((chunk as u32) << 20) | (offset as u32 & 0xF_FFFF))
    }
    fn chunk(self) -> usize {
        (self.0 >> 20) as usize
    }
    fn offset(self) -> usize {
        (self.0 & 0xF_FFFF) as usize
    }
}

/// Where a text lives in a [`TextArena`].
#[cfg(not(target_pointer_width = "32"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextRef {
    chunk: u32,
    offset: u32,
}

#[cfg(not(target_pointer_width = "32"))]
impl TextRef {
    fn new(chunk: usize, offset: usize) -> Self {
        TextRef {
            chunk: chunk as u32,
            offset: offset as u32,
        }
    }
    fn chunk(self) -> usize {
        self.chunk as usize
    }
    fn offset(self) -> usize {
        self.offset as usize
    }
}

/// Bytes per chunk of a [`TextArena`] (a longer text gets a chunk of its own). Texts start at
/// offsets below 2^20 (an event's data and metadata are at most 1 MiB).
const TEXT_CHUNK: usize = 1 << 20;

/// Append-only text storage.
#[derive(Debug, Default)]
pub struct TextArena {
    chunks: Vec<String>,
}

impl TextArena {
    /// Stores `parts` one after the other; returns where they start.
    pub fn push(&mut self, parts: &[&str]) -> TextRef {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let fits = self.chunks.last().is_some_and(|c| c.capacity() - c.len() >= len);
        if !fits {
            self.chunks.push(String::with_capacity(TEXT_CHUNK.max(len)));
        }
        let chunk = self.chunks.len() - 1;
        let text = &mut self.chunks[chunk];
        let offset = text.len();
        for p in parts {
            text.push_str(p);
        }
        TextRef::new(chunk, offset)
    }

    /// The `len` bytes at `at` (+ `skip`), or `""` if out of range.
    pub fn get(&self, at: TextRef, skip: usize, len: usize) -> &str {
        let start = at.offset() + skip;
        self.chunks
            .get(at.chunk())
            .and_then(|c| c.get(start..start + len))
            .unwrap_or("")
    }

    /// Bytes reserved.
    pub fn capacity(&self) -> usize {
        self.chunks.iter().map(String::capacity).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_vec_behaves_like_a_vec() {
        let mut v = ChunkedVec::default();
        for i in 0..(3 * CHUNK + 17) {
            v.push(i);
        }
        assert_eq!(v.len(), 3 * CHUNK + 17);
        assert_eq!(v.get(CHUNK), Some(&CHUNK));
        assert_eq!(v.get(3 * CHUNK + 16), Some(&(3 * CHUNK + 16)));
        assert_eq!(v.get(3 * CHUNK + 17), None);
        assert_eq!(v.last(), Some(&(3 * CHUNK + 16)));
        for probe in [
            0,
            1,
            CHUNK - 1,
            CHUNK,
            CHUNK + 1,
            3 * CHUNK + 16,
            3 * CHUNK + 17,
            10 * CHUNK,
        ] {
            assert_eq!(v.partition_point(|&x| x < probe), probe.min(v.len()), "probe {probe}");
        }
        let empty: ChunkedVec<u8> = ChunkedVec::default();
        assert_eq!(empty.partition_point(|_| true), 0);
    }

    #[test]
    fn arena_keeps_texts_in_place() {
        let mut a = TextArena::default();
        let x = a.push(&["{\"a\":1}", "{}"]);
        let big = "x".repeat(TEXT_CHUNK + 5);
        let y = a.push(&[&big]);
        let z = a.push(&["{\"b\":2}"]);
        assert_eq!(a.get(x, 0, 7), "{\"a\":1}");
        assert_eq!(a.get(x, 7, 2), "{}");
        assert_eq!(a.get(y, 0, big.len()), big);
        assert_eq!(a.get(z, 0, 7), "{\"b\":2}");
        assert_eq!(a.get(z, 0, 999), "");
    }
}
