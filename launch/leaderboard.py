"""Renders LEADERBOARD.md from a committed leaderboard record (a run's results.json).

  python launch/leaderboard.py --results=leaderboard/cpu.json --output=LEADERBOARD.md

The record is the results.json that `launch/train.py --config=configs/mitigation_leaderboard.py`
wrote; the table is the same one the run wrote to its work directory.
"""

from absl import app, flags

from simplicity_bias.report import leaderboard

flags.DEFINE_string("results", "leaderboard/cpu.json", "A leaderboard run's results.json.")
flags.DEFINE_string("output", "LEADERBOARD.md", "Where to write the table.")
FLAGS = flags.FLAGS


def main(argv):
  del argv
  leaderboard.render(FLAGS.results, FLAGS.output)
  print(f"wrote {FLAGS.output} from {FLAGS.results}")


if __name__ == "__main__":
  app.run(main)
