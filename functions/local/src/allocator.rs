//! mimalloc's options for the local system (ADR 0031). Its defaults favour speed over resident
//! memory: freed pages are returned to the system only after a second, arenas are committed
//! up front and may be backed by transparent huge pages. Measured on the lead import (a 1M-row
//! file), that held 147 MiB resident against ~77 MiB with the options below at the same or
//! better speed (docs/BENCHMARKS.md, "Lead imports").

use std::ffi::c_long;

use libmimalloc_sys::{mi_option_set, mi_option_t};

/// Option numbers of the bundled mimalloc v3 (`enum mi_option_e` in libmimalloc-sys's
/// `c_src/mimalloc/v3/include/mimalloc.h`). The crate's own constants follow v2's numbering,
/// which differs; the test below fails if an upgrade moves them.
const ARENA_EAGER_COMMIT: mi_option_t = 4;
const PURGE_DELAY: mi_option_t = 15;
const ALLOW_THP: mi_option_t = 43;

/// One option, and the environment variable that keeps its say (an operator can still tune).
struct Setting {
    option: mi_option_t,
    env: &'static str,
    value: c_long,
}

const SETTINGS: [Setting; 3] = [
    // Give freed pages back after 10 ms rather than 1 s: a burst's memory (an import's two
    // chunks, a batch of hits) is not held through the next one. With 2 ms the tracking
    // endpoints measured about a quarter slower (docs/BENCHMARKS.md).
    Setting {
        option: PURGE_DELAY,
        env: "MIMALLOC_PURGE_DELAY",
        value: 10,
    },
    // Commit arena memory as it is used rather than the whole arena at once.
    Setting {
        option: ARENA_EAGER_COMMIT,
        env: "MIMALLOC_ARENA_EAGER_COMMIT",
        value: 0,
    },
    // No transparent huge pages: a 2 MiB page is resident as soon as one byte of it is.
    Setting {
        option: ALLOW_THP,
        env: "MIMALLOC_ALLOW_THP",
        value: 0,
    },
];

/// Sets the options, unless the environment sets them. Call it first thing in `main`: memory
/// taken before then keeps the defaults' commitment.
pub fn tune_allocator() {
    for setting in &SETTINGS {
        if std::env::var_os(setting.env).is_none() {
            // SAFETY: mi_option_set writes one word of mimalloc's option table; any value is
            // accepted for these options.
            unsafe { mi_option_set(setting.option, setting.value) };
        }
    }
    // mimalloc applies `allow_thp` with prctl when it starts, before `main`; once started it
    // only stops asking for huge pages, so the process-wide switch is thrown here too.
    #[cfg(target_os = "linux")]
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        // SAFETY: PR_SET_THP_DISABLE takes plain integer arguments and changes only this
        // process's memory policy.
        unsafe {
            libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libmimalloc_sys::mi_option_get;

    fn option_value(option: mi_option_t) -> c_long {
        // SAFETY: mi_option_get reads mimalloc's option table.
        unsafe { mi_option_get(option) }
    }

    /// One test, so that reading the defaults cannot race the setting in a parallel test.
    #[test]
    fn the_option_numbers_are_those_of_the_bundled_mimalloc_and_tuning_sets_them() {
        // Before any setting, mimalloc's documented v3 defaults identify the options.
        // (A variable in the environment would change them; the test runner sets none.)
        assert_eq!(option_value(PURGE_DELAY), 1000, "purge_delay (ms)");
        assert_eq!(option_value(ARENA_EAGER_COMMIT), 2, "arena_eager_commit");
        assert_eq!(option_value(ALLOW_THP), 1, "allow_thp");

        tune_allocator();
        for setting in &SETTINGS {
            assert_eq!(
                option_value(setting.option),
                setting.value,
                "{}",
                setting.env
            );
        }
    }
}
