//! Fan-out of independent pieces of work over the CPUs, for the fleet (one
//! profile per piece) and the disk (one top-level directory per piece).
//! Results come back in input order, so nothing downstream depends on the
//! number of threads. No crate imports: every stage may use it.

/// Threads to share `items` independent pieces of work: one per CPU, never
/// more than the pieces. Asking the CPU count reads cgroup files, so a
/// single piece does not ask.
pub fn threads_for(items: usize) -> usize {
    if items <= 1 { items } else { std::thread::available_parallelism().map_or(1, |n| n.get()).min(items) }
}

/// `f` of every item, in input order, on `threads_for(items.len())` scoped
/// threads (contiguous chunks). A panic in a thread is re-raised here.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = threads_for(items.len());
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(items.len().div_ceil(threads))
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<_>>()))
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_input_order() {
        let items: Vec<usize> = (0..1000).collect();
        assert_eq!(map(&items, |i| i * 2), items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(map(&[] as &[usize], |i| *i), Vec::<usize>::new());
    }
}
