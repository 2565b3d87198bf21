//! Amounts as every message writes them: one convention for sizes, so that a few megabytes
//! never read "0.0 GB" in one message and "3 MB" in another.

/// `7.4 GB`, `350 MB`, `12 KB`, `512 B` (decimal units, as disks are sold).
pub fn size_text(bytes: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (1_000_000_000_000, "TB"),
        (1_000_000_000, "GB"),
        (1_000_000, "MB"),
        (1_000, "KB"),
    ];
    for (unit, name) in UNITS {
        if bytes >= unit {
            let value = bytes as f64 / unit as f64;
            return if value < 10.0 {
                format!("{value:.1} {name}")
            } else {
                format!("{value:.0} {name}")
            };
        }
    }
    format!("{bytes} B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_pick_the_unit_that_reads_best() {
        assert_eq!(size_text(7_400_000_000), "7.4 GB");
        assert_eq!(size_text(45_000_000_000), "45 GB");
        assert_eq!(size_text(350_000_000), "350 MB");
        assert_eq!(size_text(3_000_000), "3.0 MB");
        assert_eq!(size_text(12_000), "12 KB");
        assert_eq!(size_text(512), "512 B");
        assert_eq!(size_text(0), "0 B");
        assert_eq!(size_text(2_500_000_000_000), "2.5 TB");
    }
}
