//! MovieLens-1M loader on a tiny hand-made dataset written to a temporary directory.

use tempfile::TempDir;

use env_core::cb::{ContextualBandit, DEFAULT_ALPHA, DefaultLinUcb, Gender, run_cb_episode};
use gpu_trainer::envs::movielens::{Imputation, MovieLens, MovieLensError, MovieLensOptions, load};

const USERS: &str = "1::F::1::10::48067\n2::M::56::16::70072\n3::M::25::15::55117\n\
                     4::F::45::7::02460\n5::M::25::20::55455\n6::F::50::9::55117\n";

/// Movie 3's title is Latin-1: "Café au lait (1993)" with é as the single byte 0xE9.
fn movies_bytes() -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(b"1::Toy Story (1995)::Animation|Children's|Comedy\r\n");
    b.extend_from_slice(b"2::Jumanji (1995)::Adventure|Children's|Fantasy\r\n");
    b.extend_from_slice(b"3::Caf\xe9 au lait (1993)::Comedy\r\n");
    b.extend_from_slice(b"4::Heat (1995)::Action|Crime|Thriller\r\n");
    b.extend_from_slice(b"5::Rare Film (1990)::Drama\r\n");
    b
}

/// Counts: movie 3 -> 5 ratings, 1 -> 4, 4 -> 4, 2 -> 2, 5 -> 1 (user 6, who rates nothing
/// else, so is dropped for K = 3).
const RATINGS: &str = "\
1::3::5::978300760\n2::3::4::978300761\n3::3::3::978300762\n4::3::5::978300763\n5::3::2::978300764\n\
1::1::4::978300765\n2::1::5::978300766\n3::1::2::978300767\n4::1::3::978300768\n\
2::4::1::978300769\n3::4::4::978300770\n4::4::2::978300771\n5::4::5::978300772\n\
1::2::3::978300773\n5::2::4::978300774\n6::5::5::978300775\n";

/// The three `.dat` files in a fresh directory, deleted when the guard drops (also when a test fails).
fn dataset(name: &str, users: &[u8], movies: &[u8], ratings: &[u8]) -> TempDir {
    let dir = tempfile::Builder::new().prefix(&format!("greedy-movielens-{name}-")).tempdir().unwrap();
    std::fs::write(dir.path().join("users.dat"), users).unwrap();
    std::fs::write(dir.path().join("movies.dat"), movies).unwrap();
    std::fs::write(dir.path().join("ratings.dat"), ratings).unwrap();
    dir
}

fn good(name: &str) -> TempDir {
    dataset(name, USERS.as_bytes(), &movies_bytes(), RATINGS.as_bytes())
}

fn opts(top_k: usize, dim: usize) -> MovieLensOptions {
    MovieLensOptions { top_k, dim, ..MovieLensOptions::default() }
}

fn squared_error(data: &MovieLens) -> f64 {
    let k = data.movies.len();
    let mut err = 0.0;
    for u in 0..data.users.len() {
        for m in 0..k {
            let d = data.ratings[u * k + m] - data.reconstruction(u, m).unwrap();
            err += d * d;
        }
    }
    err
}

#[test]
fn picks_the_most_rated_movies_and_decodes_latin1() {
    let dir = good("topk");
    let data = load(dir.path(), &opts(3, 2)).unwrap();
    assert_eq!(data.movie_ids, vec![3, 1, 4]); // 1 and 4 tie on 4 ratings: lower id first
    assert_eq!(data.rating_counts, vec![5, 4, 4]);
    assert_eq!(data.movies[0].title.as_str(), "Café au lait (1993)");
    assert_eq!(data.movies[1].title.as_str(), "Toy Story (1995)");
    assert_eq!(data.movies[1].genres.names().collect::<Vec<_>>(), ["Animation", "Children's", "Comedy"]);
    assert_eq!(data.user_ids, vec![1, 2, 3, 4, 5]); // user 6 rated none of the top 3
    let u = &data.users[0];
    assert_eq!((u.age, u.gender, u.occupation, u.location.as_str()), (1, Gender::Female, 10, "48067"));
    assert_eq!(u.occupation_name(), "K-12 student");
    // Observed entries are the ratings; missing ones the movie's mean (user 5 / movie 1:
    // mean of 4, 5, 2, 3 = 3.5; user 1 / movie 4: mean of 1, 4, 2, 5 = 3).
    assert_eq!(&data.ratings[..3], &[5.0, 4.0, 3.0]);
    assert_eq!(data.ratings[4 * 3 + 1], 3.5);
    let zero = load(dir.path(), &MovieLensOptions { imputation: Imputation::Zero, ..opts(3, 2) }).unwrap();
    assert_eq!(zero.ratings[2], 0.0);
    assert_eq!(zero.ratings[4 * 3 + 1], 0.0);
}

#[test]
fn full_rank_reconstruction_is_exact() {
    let dir = good("exact");
    let data = load(dir.path(), &opts(3, 3)).unwrap();
    for u in 0..data.users.len() {
        for m in 0..3 {
            let rec = data.reconstruction(u, m).unwrap();
            assert!((rec - data.ratings[u * 3 + m]).abs() < 1e-9, "({u}, {m}): {rec}");
        }
    }
    // The environment's expected reward is the same number.
    let tables = data.tables(0.0).unwrap();
    assert!((tables.expected_reward(0, 0).unwrap() - 5.0).abs() < 1e-9);
}

#[test]
fn truncation_error_is_the_dropped_singular_values() {
    let dir = good("eckart");
    for dim in 1..=3 {
        let data = load(dir.path(), &opts(3, dim)).unwrap();
        let dropped: f64 = data.singular_values[dim..].iter().map(|s| s * s).sum();
        let err = squared_error(&data);
        assert!((err - dropped).abs() < 1e-9 * (1.0 + dropped), "dim {dim}: error {err}, dropped {dropped}");
        if dim < 3 {
            assert!(err > 1e-3, "a rank-{dim} fit of this matrix cannot be exact");
        }
    }
}

#[test]
fn loaded_tables_run_an_episode() {
    let dir = good("episode");
    let data = load(dir.path(), &opts(3, 2)).unwrap();
    let mut env = ContextualBandit::new(data.tables(0.5).unwrap(), 20).unwrap();
    let mut policy = DefaultLinUcb::new(DEFAULT_ALPHA, false).unwrap();
    let (mut a, mut r, mut w) = ([0usize; 20], [0.0; 20], [0.0; 20]);
    assert_eq!(run_cb_episode(&mut env, &mut policy, 1, &mut a, &mut r, &mut w), Ok(20));
    assert_eq!(env.movie_title(0), Ok("Café au lait (1993)"));
}

fn error_of(name: &str, users: &str, movies: &[u8], ratings: &str, options: MovieLensOptions) -> String {
    let dir = dataset(name, users.as_bytes(), movies, ratings.as_bytes());
    match load(dir.path(), &options) {
        Ok(_) => panic!("{name}: expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn malformed_files_name_file_line_and_field() {
    let m = movies_bytes();
    let bad_rating = RATINGS.replacen("3::3::3::", "3::3::x::", 1);
    assert_eq!(
        error_of("rating", USERS, &m, &bad_rating, opts(3, 2)),
        "ratings.dat:3: rating \"x\" is not an integer 1..5"
    );
    let six = RATINGS.replacen("3::3::3::", "3::3::6::", 1);
    assert_eq!(
        error_of("six", USERS, &m, &six, opts(3, 2)),
        "ratings.dat:3: rating \"6\" is not an integer 1..5"
    );
    let fields = USERS.replacen("2::M::56::16::70072", "2::M::56::16", 1);
    assert_eq!(
        error_of("fields", &fields, &m, RATINGS, opts(3, 2)),
        "users.dat:2: expected 5 fields separated by \"::\", found 4"
    );
    let gender = USERS.replacen("3::M::", "3::X::", 1);
    assert_eq!(
        error_of("gender", &gender, &m, RATINGS, opts(3, 2)),
        "users.dat:3: gender \"X\" is not F or M"
    );
    let occ = USERS.replacen("1::F::1::10::", "1::F::1::21::", 1);
    assert_eq!(
        error_of("occ", &occ, &m, RATINGS, opts(3, 2)),
        "users.dat:1: occupation 21 is not a code 0..20"
    );
    let mut movie_id = m.clone();
    movie_id.splice(0..1, b"abc".iter().copied());
    assert_eq!(
        error_of("movieid", USERS, &movie_id, RATINGS, opts(3, 2)),
        "movies.dat:1: MovieID \"abc\" is not a valid number"
    );
    let unknown = format!("{RATINGS}1::99::4::978300800\n");
    assert_eq!(
        error_of("unknown", USERS, &m, &unknown, opts(3, 2)),
        "ratings.dat:17: MovieID 99 is not in movies.dat"
    );
    let twice = format!("{RATINGS}1::3::4::978300800\n");
    assert_eq!(
        error_of("twice", USERS, &m, &twice, opts(3, 2)),
        "ratings.dat:17: UserID 1 rated MovieID 3 twice"
    );
    let stamp = RATINGS.replacen("::978300760", "::yesterday", 1);
    assert_eq!(
        error_of("stamp", USERS, &m, &stamp, opts(3, 2)),
        "ratings.dat:1: timestamp \"yesterday\" is not a valid number"
    );
    assert!(error_of("topk", USERS, &m, RATINGS, opts(6, 2)).contains("top_k = 6"));
    assert!(error_of("dim", USERS, &m, RATINGS, opts(3, 4)).contains("dim = 4"));
    // A missing file names its path.
    let dir = good("missing");
    std::fs::remove_file(dir.path().join("ratings.dat")).unwrap();
    let err = load(dir.path(), &opts(3, 2)).unwrap_err();
    assert!(matches!(err, MovieLensError::Io { .. }));
    assert!(err.to_string().contains("ratings.dat"), "{err}");
    // Invalid UTF-8 never matters: every byte is Latin-1.
    let mut junk = m.clone();
    junk.extend_from_slice(b"6::\xff\xfe (2000)::Drama\n");
    let dir = dataset("junk", USERS.as_bytes(), &junk, RATINGS.as_bytes());
    assert!(load(dir.path(), &opts(3, 2)).is_ok());
}
