//! Splitting per-node work across cores (upstream `parallelize.Until`): scoped threads
//! over contiguous ranges, only when each range is big enough to pay for a thread.

use std::ops::Range;
use std::sync::OnceLock;

/// Upstream's default parallelism cap.
pub const MAX_PARALLELISM: usize = 16;

fn threads() -> usize {
    static THREADS: OnceLock<usize> = OnceLock::new();
    *THREADS.get_or_init(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(MAX_PARALLELISM)
    })
}

/// Runs `f` over contiguous sub-ranges of `0..n` (at least `min_chunk` long each) in
/// parallel, returning the results in range order.
pub fn chunked<R: Send>(
    n: usize,
    min_chunk: usize,
    f: impl Fn(Range<usize>) -> R + Sync,
) -> Vec<R> {
    let parts = threads().min(n / min_chunk.max(1)).max(1);
    if parts == 1 {
        return vec![f(0..n)];
    }
    let size = n.div_ceil(parts);
    let ranges: Vec<Range<usize>> = (0..parts)
        .map(|i| (i * size)..((i + 1) * size).min(n))
        .collect();
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = ranges[1..]
            .iter()
            .cloned()
            .map(|r| s.spawn(move || f(r)))
            .collect();
        let mut out = vec![f(ranges[0].clone())];
        out.extend(
            handles
                .into_iter()
                .map(|h| h.join().expect("parallel worker panicked")),
        );
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_every_index_in_order() {
        let parts = chunked(10_000, 10, |r| r.collect::<Vec<usize>>());
        let all: Vec<usize> = parts.into_iter().flatten().collect();
        assert_eq!(all, (0..10_000).collect::<Vec<_>>());
        assert_eq!(chunked(5, 100, |r| r.len()), vec![5]);
    }
}
