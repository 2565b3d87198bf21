//! A set of GPUs of one host, as text: the comma list the database stores (`0,2`) and the
//! labels replies show (`GPU 0`, `GPUs 0,2`).

use maison_command::Lang;

/// `0,2`: how a GPU list is stored.
pub fn format_gpu_list(gpus: &[u32]) -> String {
    gpus.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// The GPUs of a stored list; anything that is not a number is skipped.
pub fn parse_gpu_list(text: &str) -> Vec<u32> {
    text.split(',')
        .filter_map(|g| g.trim().parse().ok())
        .collect()
}

/// `GPU 0` or `GPUs 0,2`: the GPUs of a booking.
pub fn gpus_label(gpus: &[u32]) -> String {
    match gpus {
        [one] => format!("GPU {one}"),
        many => format!("GPUs {}", format_gpu_list(many)),
    }
}

/// [`gpus_label`] in `lang`: Japanese has no plural, so `GPU 0,1` whatever the count.
pub fn gpus_label_in(gpus: &[u32], lang: Lang) -> String {
    match lang {
        Lang::En => gpus_label(gpus),
        Lang::Ja => format!("GPU {}", format_gpu_list(gpus)),
    }
}

/// `GPU 0,2`, or `no GPU`: the GPUs a container was given (often none).
pub fn gpus_text(gpus: &[u32]) -> String {
    if gpus.is_empty() {
        "no GPU".to_owned()
    } else {
        format!("GPU {}", format_gpu_list(gpus))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_round_trip_and_read_naturally() {
        assert_eq!(format_gpu_list(&[0, 2]), "0,2");
        assert_eq!(parse_gpu_list("0,2"), vec![0, 2]);
        assert_eq!(parse_gpu_list(" 1, x,3"), vec![1, 3]);
        assert!(parse_gpu_list("").is_empty());
        assert_eq!(gpus_label(&[1]), "GPU 1");
        assert_eq!(gpus_label(&[0, 1]), "GPUs 0,1");
        assert_eq!(gpus_text(&[]), "no GPU");
        assert_eq!(gpus_text(&[0, 1]), "GPU 0,1");
    }
}
