"""The built-in judge's parts: act rules as data, the tagger, the scoring policy, feedback.

`tagger` tags what each sentence of a reply does, from `rules/*.toml` and `lexicon.toml`;
`policy` scores the acts; `feedback` writes the tip and the better reply; `language` tells
when a reply is not English, so the rules abstain. `coach.judges.builtin` puts them together.
"""
