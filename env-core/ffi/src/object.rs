//! Objects in caller-provided storage.
//!
//! Each C object type (`EcMab`, ...) is a struct of opaque `uint64_t` words: its size is a
//! header constant and its alignment 8, so C can declare one on the stack, in a static, or
//! allocate `ec_object_size(kind)` bytes aligned to `ec_object_align(kind)`. Inside, the
//! library keeps a [`Slot`]: a type tag, the address the object was initialised at, and the
//! Rust value. Every call checks, before reading anything else, that the pointer is non-null
//! and aligned, that the tag is this type's (an object never initialised, zeroed or of another
//! type is `EC_STATUS_NOT_INITIALIZED`), and that the object is still at its address (a moved
//! or `memcpy`'d copy is `EC_STATUS_MOVED`: the contextual bandit points into itself, so every
//! type follows the one rule).

use core::mem::{align_of, size_of};
use core::ptr::addr_of;

use crate::status::EcStatus;

/// The alignment of every object (and of its storage words).
pub const EC_OBJECT_ALIGN: usize = 8;

/// What the storage of an object holds.
#[repr(C)]
struct Slot<T> {
    tag: u64,
    home: usize,
    value: T,
}

/// A C object type and the Rust value it stores.
pub(crate) trait Storage: Sized {
    /// The stored value.
    type Inner;
    /// The type tag written by init (distinct per type).
    const TAG: u64;
}

/// A compile-time proof that a type's storage holds its slot: evaluating `Fits::<S>::OK` fails
/// the build (on the target being built) when the storage is too small or under-aligned.
struct Fits<S>(core::marker::PhantomData<S>);

impl<S: Storage> Fits<S> {
    const OK: () = {
        assert!(size_of::<Slot<S::Inner>>() <= size_of::<S>(), "object storage too small");
        assert!(align_of::<Slot<S::Inner>>() <= align_of::<S>(), "object storage under-aligned");
        assert!(align_of::<S>() == EC_OBJECT_ALIGN, "object storage not 8-aligned");
    };
}

/// Null and alignment checks.
fn check_ptr<S>(ptr: *const S) -> Result<(), EcStatus> {
    if ptr.is_null() {
        return Err(EcStatus::NullPointer);
    }
    if !(ptr as usize).is_multiple_of(align_of::<S>()) {
        return Err(EcStatus::Misaligned);
    }
    Ok(())
}

/// Writes `value` into the storage at `ptr` (whatever it held before).
///
/// # Safety
/// `ptr`, when non-null and aligned, must point to `size_of::<S>()` writable bytes.
pub(crate) unsafe fn init<S: Storage>(ptr: *mut S, value: S::Inner) -> Result<(), EcStatus> {
    let () = Fits::<S>::OK;
    check_ptr(ptr)?;
    let slot = ptr.cast::<Slot<S::Inner>>();
    // SAFETY: checked non-null and aligned; the caller provides size_of::<S>() bytes, which
    // hold a Slot (const assertion above).
    unsafe { slot.write(Slot { tag: S::TAG, home: ptr as usize, value }) };
    Ok(())
}

/// Starts an in-place init, for a value too big to build on the stack and move: checks `ptr`,
/// marks the object uninitialised and returns where the value goes. The caller writes every
/// field, then calls [`finish_init`]. Call it only once nothing can fail any more.
///
/// # Safety
/// As [`init`].
pub(crate) unsafe fn begin_init<S: Storage>(ptr: *mut S) -> Result<*mut S::Inner, EcStatus> {
    let () = Fits::<S>::OK;
    check_ptr(ptr)?;
    let slot = ptr.cast::<Slot<S::Inner>>();
    // SAFETY: checked non-null and aligned, in bounds by the caller's contract.
    unsafe {
        (core::ptr::addr_of_mut!((*slot).tag)).write(0);
        Ok(core::ptr::addr_of_mut!((*slot).value))
    }
}

/// Completes [`begin_init`] once the value is fully written.
///
/// # Safety
/// `ptr` was passed to [`begin_init`] and its value has been written.
pub(crate) unsafe fn finish_init<S: Storage>(ptr: *mut S) {
    let slot = ptr.cast::<Slot<S::Inner>>();
    // SAFETY: the caller's contract.
    unsafe {
        (core::ptr::addr_of_mut!((*slot).home)).write(ptr as usize);
        (core::ptr::addr_of_mut!((*slot).tag)).write(S::TAG);
    }
}

/// Checks `ptr` and returns a pointer to the value it holds.
///
/// # Safety
/// `ptr`, when non-null and aligned, must point to `size_of::<S>()` readable bytes.
unsafe fn value_ptr<S: Storage>(ptr: *const S) -> Result<*mut S::Inner, EcStatus> {
    check_ptr(ptr)?;
    let slot = ptr.cast::<Slot<S::Inner>>().cast_mut();
    // SAFETY: non-null, aligned, in bounds (the caller's contract); the tag and home are plain
    // integers, readable whatever the bytes are.
    let (tag, home) = unsafe { (addr_of!((*slot).tag).read(), addr_of!((*slot).home).read()) };
    if tag != S::TAG {
        return Err(EcStatus::NotInitialized);
    }
    if home != ptr as usize {
        return Err(EcStatus::Moved);
    }
    // SAFETY: the tag says init wrote a valid value here.
    Ok(unsafe { core::ptr::addr_of_mut!((*slot).value) })
}

/// The value of an initialised object.
///
/// # Safety
/// As [`value_ptr`]; no `&mut` to the same object may be alive.
pub(crate) unsafe fn get<'a, S: Storage>(ptr: *const S) -> Result<&'a S::Inner, EcStatus> {
    // SAFETY: forwarded.
    unsafe { value_ptr(ptr).map(|p| &*p) }
}

/// The value of an initialised object, mutably.
///
/// # Safety
/// As [`value_ptr`]; no other reference to the same object may be alive.
pub(crate) unsafe fn get_mut<'a, S: Storage>(ptr: *mut S) -> Result<&'a mut S::Inner, EcStatus> {
    // SAFETY: forwarded.
    unsafe { value_ptr(ptr).map(|p| &mut *p) }
}

/// The kinds of object, for [`ec_object_size`] and [`ec_object_align`].
pub const EC_OBJECT_MAB: u32 = 0;
/// See [`EC_OBJECT_MAB`].
pub const EC_OBJECT_BANDIT_AGENT: u32 = 1;
/// See [`EC_OBJECT_MAB`].
pub const EC_OBJECT_CB: u32 = 2;
/// See [`EC_OBJECT_MAB`].
pub const EC_OBJECT_CB_AGENT: u32 = 3;
/// See [`EC_OBJECT_MAB`].
pub const EC_OBJECT_TTT: u32 = 4;
/// See [`EC_OBJECT_MAB`].
pub const EC_OBJECT_TTT_PLAYER: u32 = 5;

/// The size in bytes of an object of `kind` (`EC_OBJECT_MAB`, ...) as this library was built;
/// equal to the header's `EC_*_SIZE` and `sizeof` of the type. 0 for an unknown kind.
#[no_mangle]
pub extern "C" fn ec_object_size(kind: u32) -> usize {
    match kind {
        EC_OBJECT_MAB => size_of::<crate::EcMab>(),
        EC_OBJECT_BANDIT_AGENT => size_of::<crate::EcBanditAgent>(),
        EC_OBJECT_CB => size_of::<crate::EcCb>(),
        EC_OBJECT_CB_AGENT => size_of::<crate::EcCbAgent>(),
        EC_OBJECT_TTT => size_of::<crate::EcTtt>(),
        EC_OBJECT_TTT_PLAYER => size_of::<crate::EcTttPlayer>(),
        _ => 0,
    }
}

/// The alignment in bytes of an object of `kind` ([`EC_OBJECT_ALIGN`]); 0 for an unknown kind.
#[no_mangle]
pub extern "C" fn ec_object_align(kind: u32) -> usize {
    if ec_object_size(kind) == 0 {
        0
    } else {
        EC_OBJECT_ALIGN
    }
}

/// The bytes the value actually uses, for the size report of the tests.
#[cfg(test)]
pub(crate) fn slot_size<S: Storage>() -> usize {
    size_of::<Slot<S::Inner>>()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Prints the bytes each value uses against its storage (the storage sizes are fixed in
    /// the header; the const assertions of `init` keep them large enough on every target).
    #[test]
    fn storage_holds_the_values() {
        let sizes = [
            ("mab", slot_size::<crate::EcMab>(), ec_object_size(EC_OBJECT_MAB)),
            ("bandit agent", slot_size::<crate::EcBanditAgent>(), ec_object_size(EC_OBJECT_BANDIT_AGENT)),
            ("cb", slot_size::<crate::EcCb>(), ec_object_size(EC_OBJECT_CB)),
            ("cb agent", slot_size::<crate::EcCbAgent>(), ec_object_size(EC_OBJECT_CB_AGENT)),
            ("ttt", slot_size::<crate::EcTtt>(), ec_object_size(EC_OBJECT_TTT)),
            ("ttt player", slot_size::<crate::EcTttPlayer>(), ec_object_size(EC_OBJECT_TTT_PLAYER)),
        ];
        for (name, used, size) in sizes {
            std::println!("{name}: {used} of {size} bytes");
            assert!(used <= size);
        }
        assert_eq!(ec_object_size(99), 0);
        assert_eq!(ec_object_align(99), 0);
        assert_eq!(ec_object_align(EC_OBJECT_CB), 8);
    }
}
