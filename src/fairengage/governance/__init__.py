"""The governance side: figures drawn across engagements, reviews, retention and complaints for the board
and the annual report. It sits above those capabilities, so none of them needs to import another for it."""
