//! The system allocator, counting the bytes in use while counting is on: only while memory is
//! measured, so timed work does not share one counter between its threads (one flag read per
//! allocation otherwise). A bench installs it with
//! `#[global_allocator] static ALLOCATOR: counting::Counting = counting::Counting;`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};

/// The counting allocator.
pub struct Counting;

static IN_USE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);
static COUNTING: AtomicBool = AtomicBool::new(false);

fn count(bytes: isize) {
    if COUNTING.load(Ordering::Relaxed) {
        let now = IN_USE.fetch_add(bytes, Ordering::Relaxed) + bytes;
        PEAK.fetch_max(now, Ordering::Relaxed);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Starts counting; the bytes in use are counted from here on, and the peak from what is in
/// use now.
pub fn start() {
    PEAK.store(IN_USE.load(Ordering::Relaxed), Ordering::Relaxed);
    COUNTING.store(true, Ordering::Relaxed);
}

/// Stops counting.
pub fn stop() {
    COUNTING.store(false, Ordering::Relaxed);
}

/// The bytes allocated and not freed while counting was on.
pub fn in_use() -> isize {
    IN_USE.load(Ordering::Relaxed)
}

/// The most bytes in use at once since counting last started.
pub fn peak() -> isize {
    PEAK.load(Ordering::Relaxed)
}

/// Bytes in MiB.
pub fn mib(bytes: isize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Builds the engine of the tenant `load` gives, counting the bytes they hold and the most in use
/// at once on the way, and prints them after `what`.
pub fn engine_of(
    what: &str,
    catalog: &warden::catalog::Catalog,
    load: impl FnOnce() -> warden::iam::Tenant,
) -> warden::eval::Engine {
    start();
    let before = in_use();
    let tenant = load();
    let with_tenant = in_use();
    let engine = warden::eval::Engine::new(tenant, catalog);
    let (after, peak) = (in_use(), peak());
    stop();
    println!(
        "{what}: memory {:.2} MiB held (the tenant {:.2} MiB, the engine's own tables {:.2} MiB), {:.2} MiB at the peak",
        mib(after - before),
        mib(with_tenant - before),
        mib(after - with_tenant),
        mib(peak - before)
    );
    engine
}
