# Why each test failed, short enough to read at the end of a CI log: from the output of
# `cargo test`, for each "---- NAME stdout ----" block, its last progress lines ("[suite] step"),
# the line saying where it panicked, and the first and last lines of the panic's message (a
# timed-out wait ends its message with the log of what it waited on, so its end says most).
# Every line is cut to a readable width. Used by scripts/test.sh after a failed `cargo test`.
#   awk -f scripts/test_failures.awk CARGO_TEST_OUTPUT

function cut(line) {
  gsub(/\r/, "", line)
  return length(line) > 220 ? substr(line, 1, 220) " …" : line
}

function flush(   i, from) {
  if (name == "") return
  print "---- " name
  from = steps > 2 ? steps - 1 : 1
  for (i = from; i <= steps; i++) print "  " cut(step[i])
  if (where == "") {
    print "  (no panic line in its output)"
  } else {
    print "  " cut(where)
    if (lines <= 7) {
      for (i = 1; i <= lines; i++) print "  | " cut(message[i])
    } else {
      for (i = 1; i <= 2; i++) print "  | " cut(message[i])
      print "  | … " (lines - 7) " lines …"
      for (i = lines - 4; i <= lines; i++) print "  | " cut(message[i])
    }
  }
  name = ""
}

/^---- .* stdout ----$/ {
  flush()
  name = $2
  steps = 0; lines = 0; where = ""; in_message = 0
  blocks++
  next
}

/^failures:$/ || /^test result:/ { flush(); in_message = 0; next }

name != "" {
  if (in_message) {
    if ($0 ~ /^stack backtrace:/ || $0 ~ /^note: run with `RUST_BACKTRACE/) { in_message = 0; next }
    if ($0 != "") message[++lines] = $0
    next
  }
  if ($0 ~ /^thread '.*'( \([0-9]+\))? panicked at /) { where = $0; in_message = 1; next }
  if ($0 ~ /^\[[a-z0-9 _-]+\] /) step[++steps] = $0
}

END {
  flush()
  if (blocks == 0) print "(no failing test's output found: the failure came before or after the tests)"
}
