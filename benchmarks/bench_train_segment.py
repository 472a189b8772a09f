r"""Times the compiled training segment alone: S members of LMS-5, (100,2)-FCN, one epoch per call.

  python benchmarks/bench_train_segment.py [--seeds=16] [--num_train=100000] [--epochs=5]

Prints the mean seconds per epoch after a warm-up epoch, the updates per second and the FLOP rate
of the SGD updates. Only the trainer (``Trainer`` / ``init_members`` / ``segment``) and the data
generator are used, so the same script measures two versions of the trainer side by side
(``PYTHONPATH=<other checkout> python benchmarks/bench_train_segment.py``).
"""

import argparse
import json
import statistics
import time


def main():
  p = argparse.ArgumentParser()
  p.add_argument("--seeds", type=int, default=16)
  p.add_argument("--num_train", type=int, default=100_000)
  p.add_argument("--epochs", type=int, default=5)
  p.add_argument("--batch_size", type=int, default=256)
  args = p.parse_args()
  import jax
  import optax
  from simplicity_bias.data import synthetic
  from simplicity_bias.models import get_model
  from simplicity_bias.train.loop import Trainer, TrainSpec, init_members

  spec = synthetic.lms(5, dim=50, sizes=(args.num_train, 1000, 1000), rotate=True)
  params = synthetic.stack_params([synthetic.default_params(spec)] * args.seeds)
  keys = jax.random.split(jax.random.key(0), args.seeds)
  data = jax.jit(jax.vmap(lambda k, q: synthetic.make_dataset(spec, k, q)))(keys, params)
  trainer = Trainer(get_model("fcn", width=100, depth=2),
                    optax.chain(optax.add_decayed_weights(5e-5), optax.sgd(0.1)),
                    TrainSpec(batch_size=args.batch_size, max_epochs=args.epochs + 1,
                              stop_rule="none"), args.num_train)
  states = init_members(trainer, jax.random.split(jax.random.key(1), args.seeds), data.x_train)
  times = []
  for epoch in range(args.epochs + 1):
    start = time.perf_counter()
    states, loss = trainer.segment(states, data.x_train, data.y_train,
                                   jax.numpy.int32(epoch * trainer.steps_per_epoch))
    jax.block_until_ready((states, loss))
    times.append(time.perf_counter() - start)
  epoch_s = statistics.mean(times[1:])
  updates = trainer.steps_per_epoch * args.seeds
  flops = updates * args.batch_size * 3 * 2 * (50 * 100 + 100 * 100 + 100 * 2)
  print(json.dumps({"epoch_s": round(epoch_s, 4), "first_epoch_s": round(times[0], 3),
                    "member_updates_per_s": round(updates / epoch_s),
                    "gflops": round(flops / epoch_s / 1e9, 1), "epochs": args.epochs}))


if __name__ == "__main__":
  main()
