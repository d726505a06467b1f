# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The spiking deep network (Hunsberger & Eliasmith 2016), without ROS: configuration
(``config``), rate responses (``rates``), the Numba simulation (``kernels``, ``network``),
checkpoints (``checkpoint``) and, with the optional JAX extra, offline training (``train``,
never imported by the nodes).

    from topspark_ros.deep.checkpoint import load_deep_checkpoint
    from topspark_ros.deep.network import Simulator
    network, metadata = load_deep_checkpoint('config/model_deep_cnn.npz')
    scores, ops = Simulator(network).run_frame(image, timesteps=10)
"""
