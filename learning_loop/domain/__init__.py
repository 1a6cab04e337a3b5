"""Pure domain core of the learning loop: recipes, rewards, stats, verdicts and the samplers.

Import the modules themselves (`learning_loop.domain.recipe`, `...sequential`): the package
holds nothing, so `learning_loop.domain.dates` (which every command needs) pulls in neither
scipy nor pandas, which only the verdicts and the pure reward functions use.
"""
