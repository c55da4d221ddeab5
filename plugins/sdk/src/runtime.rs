//! A minimal runtime for rules built with `#![no_std]`: an arena allocator
//! and a panic handler that traps. See [`no_std_runtime!`](crate::no_std_runtime).
//!
//! The host creates a fresh instance of a rule for every message and drops
//! it afterwards, so a rule's heap only ever lives for one call. An arena
//! suits that: allocating moves a pointer forward, and memory is handed back
//! only when the block freed or resized is the most recent one. A rule that
//! allocates far more than the message it looks at should use the standard
//! library's allocator instead (leave out `no_std_runtime!` and keep `std`).
//!
//! Without `std` a rule component imports nothing from WASI. The price is
//! that a panic traps without a message: the host reports the rule as
//! trapped, but there is no panic text in the log.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::ptr;

/// Size of a WebAssembly page.
const PAGE: usize = 64 * 1024;

/// Start and end of the free part of the heap.
struct Arena {
    /// First free byte; 0 until the first allocation.
    next: usize,
    /// End of linear memory when it was last looked at.
    end: usize,
}

/// Bump allocator over the linear memory above the module's data
/// (`__heap_base`). It grows memory with `memory.grow`, so the host's memory
/// limit applies as it does to any other allocator: a growth beyond it traps.
pub struct ArenaAllocator {
    arena: UnsafeCell<Arena>,
}

// SAFETY: a component instance runs on one thread; wasm32 without the
// threads proposal has no way to share the allocator between threads.
unsafe impl Sync for ArenaAllocator {}

impl ArenaAllocator {
    /// Creates an allocator that claims the heap at its first allocation.
    pub const fn new() -> ArenaAllocator {
        ArenaAllocator { arena: UnsafeCell::new(Arena { next: 0, end: 0 }) }
    }
}

impl Default for ArenaAllocator {
    fn default() -> Self {
        ArenaAllocator::new()
    }
}

impl Arena {
    fn init(&mut self) {
        if self.end == 0 {
            self.next = heap_base();
            self.end = memory_bytes();
        }
    }

    /// Makes sure memory reaches `end`, growing it when needed.
    fn reserve(&mut self, end: usize) -> bool {
        if end <= self.end {
            return true;
        }
        let pages = (end - self.end).div_ceil(PAGE);
        if grow_memory(pages) {
            self.end = memory_bytes();
            end <= self.end
        } else {
            false
        }
    }
}

// SAFETY: every block handed out lies in linear memory between
// `__heap_base` and the end of memory, is aligned as requested and does not
// overlap any other live block: `next` only moves back over a block that is
// being freed or resized and is the most recent one.
unsafe impl GlobalAlloc for ArenaAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: single-threaded (see `Sync` above) and not re-entered.
        let arena = unsafe { &mut *self.arena.get() };
        arena.init();
        let Some(start) = arena.next.checked_next_multiple_of(layout.align()) else {
            return ptr::null_mut();
        };
        let Some(end) = start.checked_add(layout.size()) else {
            return ptr::null_mut();
        };
        if !arena.reserve(end) {
            return ptr::null_mut();
        }
        arena.next = end;
        start as *mut u8
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: as in `alloc`.
        let arena = unsafe { &mut *self.arena.get() };
        if block as usize + layout.size() == arena.next {
            arena.next = block as usize;
        }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        {
            // SAFETY: as in `alloc`; the borrow ends before `alloc` below.
            let arena = unsafe { &mut *self.arena.get() };
            if block as usize + layout.size() == arena.next {
                // The most recent block grows or shrinks in place.
                let Some(end) = (block as usize).checked_add(new_size) else {
                    return ptr::null_mut();
                };
                if !arena.reserve(end) {
                    return ptr::null_mut();
                }
                arena.next = end;
                return block;
            }
            if new_size <= layout.size() {
                return block;
            }
        }
        // SAFETY: `layout.align()` is a valid alignment and the caller
        // guarantees that `new_size` rounded up to it does not overflow.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: `new_layout` has a non-zero size as `new_size > layout.size()`.
        let moved = unsafe { self.alloc(new_layout) };
        if !moved.is_null() {
            // SAFETY: both blocks are valid for `layout.size()` bytes and
            // distinct, as `moved` lies above the end of `block`.
            unsafe { ptr::copy_nonoverlapping(block, moved, layout.size()) };
        }
        moved
    }
}

fn heap_base() -> usize {
    unsafe extern "C" {
        /// Placed by the linker after the stack and the module's data.
        static __heap_base: u8;
    }
    ptr::addr_of!(__heap_base) as usize
}

fn memory_bytes() -> usize {
    core::arch::wasm32::memory_size(0) * PAGE
}

fn grow_memory(pages: usize) -> bool {
    core::arch::wasm32::memory_grow(0, pages) != usize::MAX
}

/// Allocates or resizes a block in `allocator` for the canonical ABI's
/// `cabi_realloc`, which the host calls to place the message view in the
/// rule's memory.
///
/// # Safety
///
/// The arguments must follow the canonical ABI: `old_ptr` and `old_len`
/// describe a block from an earlier call with the same `align`, which is a
/// power of two.
pub unsafe fn cabi_realloc(
    allocator: &ArenaAllocator,
    old_ptr: *mut u8,
    old_len: usize,
    align: usize,
    new_len: usize,
) -> *mut u8 {
    let block = if old_len == 0 {
        if new_len == 0 {
            return align as *mut u8;
        }
        // SAFETY: the caller guarantees a valid alignment; the size is not 0.
        unsafe { allocator.alloc(Layout::from_size_align_unchecked(new_len, align)) }
    } else {
        // SAFETY: the caller guarantees that the block came from this
        // allocator with this layout.
        unsafe { allocator.realloc(old_ptr, Layout::from_size_align_unchecked(old_len, align), new_len) }
    };
    if block.is_null() {
        abort();
    }
    block
}

/// Stops the instance with a trap.
pub fn abort() -> ! {
    core::arch::wasm32::unreachable()
}

/// Provides the global allocator and the panic handler for a rule built
/// with `#![no_std]`. Put it once at the root of the rule crate:
///
/// ```ignore
/// #![no_std]
/// extern crate alloc;
///
/// mailgate_rule_sdk::no_std_runtime!();
/// ```
///
/// The allocator is [`ArenaAllocator`], also exported to the host as
/// `cabi_realloc` (with `std`, WASI's C library provides that export); a
/// panic traps, so the host reports the rule as trapped.
#[macro_export]
macro_rules! no_std_runtime {
    () => {
        #[global_allocator]
        static MAILGATE_RULE_ALLOCATOR: $crate::runtime::ArenaAllocator = $crate::runtime::ArenaAllocator::new();

        /// Allocation entry point for the host (canonical ABI).
        ///
        /// # Safety
        ///
        /// Called by the host with canonical ABI arguments only.
        #[unsafe(export_name = "cabi_realloc")]
        pub unsafe extern "C" fn mailgate_rule_cabi_realloc(
            old_ptr: *mut u8,
            old_len: usize,
            align: usize,
            new_len: usize,
        ) -> *mut u8 {
            // SAFETY: the host follows the canonical ABI.
            unsafe { $crate::runtime::cabi_realloc(&MAILGATE_RULE_ALLOCATOR, old_ptr, old_len, align, new_len) }
        }

        #[panic_handler]
        fn mailgate_rule_panic(_info: &::core::panic::PanicInfo<'_>) -> ! {
            $crate::runtime::abort()
        }
    };
}
