"""Privacy: keyed pseudonyms on import, forgetting a member, phone numbers hidden on show.

Chat exports hold phone numbers and private talk. Everything that turns a real
identity into something else lives here, keyed by one secret per store
(:mod:`.keys`), so re-imports map the same person to the same pseudonym and a
forgotten member stays forgotten when an old export is imported again.
"""
