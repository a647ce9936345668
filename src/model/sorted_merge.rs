//! Walking two key-sorted sequences together, as the planner and the access impact compare a
//! state before and after a change.

/// Two sequences sorted by key, walked together: each key once, in order, with its value on
/// each side (`None`: absent there).
pub fn merge_by_key<K: Ord, A, B>(
    a: impl IntoIterator<Item = (K, A)>,
    b: impl IntoIterator<Item = (K, B)>,
) -> impl Iterator<Item = (K, Option<A>, Option<B>)> {
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    std::iter::from_fn(move || {
        let order = match (a.peek(), b.peek()) {
            (None, None) => return None,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some((x, _)), Some((y, _))) => x.cmp(y),
        };
        Some(match order {
            std::cmp::Ordering::Less => {
                let (k, v) = a.next()?;
                (k, Some(v), None)
            }
            std::cmp::Ordering::Greater => {
                let (k, v) = b.next()?;
                (k, None, Some(v))
            }
            std::cmp::Ordering::Equal => {
                let ((k, v), (_, w)) = (a.next()?, b.next()?);
                (k, Some(v), Some(w))
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::merge_by_key;

    #[test]
    fn merging_by_key_gives_each_key_once_with_both_sides() {
        let a = [("a", 1), ("c", 3), ("d", 4)];
        let b = [("b", 20), ("c", 30), ("e", 50)];
        let merged: Vec<_> = merge_by_key(a, b).collect();
        assert_eq!(
            merged,
            [
                ("a", Some(1), None),
                ("b", None, Some(20)),
                ("c", Some(3), Some(30)),
                ("d", Some(4), None),
                ("e", None, Some(50)),
            ]
        );
        assert_eq!(merge_by_key(a, Vec::<(&str, i32)>::new()).count(), 3);
        assert_eq!(merge_by_key::<&str, i32, i32>([], []).count(), 0);
    }
}
