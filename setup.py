"""simplicity_bias: simplicity bias and input-gradient attribution experiments in JAX/Flax."""

from setuptools import find_packages, setup

setup(
    name="simplicity_bias",
    version="0.1.0",
    description=("Seeded, vmapped reproductions of 'The Pitfalls of Simplicity Bias in Neural "
                 "Networks' and 'Do Input Gradients Highlight Discriminative Features?'"),
    long_description=open("README.md", encoding="utf-8").read() if __import__("os").path.exists(
        "README.md") else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["simplicity_bias", "simplicity_bias.*"]),
    install_requires=[
        "jax>=0.4.35",
        "flax>=0.10",
        "optax>=0.2.3",
        "numpy>=1.26",
        "scipy>=1.11",
        "absl-py>=2.0",
        "ml-collections>=0.1.1",
        "matplotlib>=3.8",
        "tqdm>=4.66",
        "orbax-checkpoint>=0.6",
        "tensorflow-datasets>=4.9.7",
        "array-record>=0.5",
        "etils[epath]>=1.7",
        "pillow>=10.0",
        "scikit-learn>=1.3",
    ],
    extras_require={
        "test": ["pytest>=7.4", "pytest-xdist>=3.0"],
        "bench": ["torch>=2.2"],
        "build-data": ["tensorflow-cpu>=2.16"],
        # launch/reproduce.py --launcher=ray (launch/MULTIHOST.md)
        "ray": ["ray>=2.10"],
    },
)
