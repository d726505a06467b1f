# Copyright 2026 The topspark_ros authors
# SPDX-License-Identifier: Apache-2.0
"""TopSpark (Putra & Shafique, IROS 2023): timestep analysis, enhancement and trade-off.

Use::

    from topspark_ros.topspark import load_profile, choose, Requirements
    choice = choose(load_profile('config/profile_n400'), Requirements(accuracy_tolerance=0.02))
    choice.timesteps, choice.params, choice.reason
"""

from .policy import Choice, Requirements, battery_tolerance, choose
from .profile import (load_profile, MadeFor, Profile, ProfileEntry, ProfileError, ProfileWarning,
                      profile_from_dict)

__all__ = ['Choice', 'MadeFor', 'Profile', 'ProfileEntry', 'ProfileError', 'ProfileWarning',
           'Requirements', 'battery_tolerance', 'choose', 'load_profile', 'profile_from_dict']
