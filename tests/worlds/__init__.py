"""Small worlds with a declared truth, for the known-truth tests.

An arithmetic test proves a formula; it cannot prove that a label, a ranking or an
interval tells the truth. Each module here builds small, fast floors whose answer is
known because it is declared, and the tests check that the advice recovers it, over many
seeds where an error rate or a coverage is claimed:

=============  =====================================================================
module         declared truth
=============  =====================================================================
``relevance``  tasks that follow a strong calendar (quarter waves, holidays, trade
               shows) with no effect on revenue; competencies that drive revenue a
               cycle later; null worlds where nothing predicts (calibration of labels)
``coaching``   reps at, above and far below the benchmark, self-starters, new hires on
               a ramp curve: who is listed, in which order, and interval coverage of
               the true gain
``segments``   stable reps near each threshold (every change of segment is noise) and
               a rep drifting from 0.5 to 1.3 of quota (must be promoted)
``training``   placebo trainings (no effect) and real ones (known lift) under team
               shocks and a calendar: false calls, power, coverage, pre-trends
``routines``   one routine that truly differs between top producers and the rest, one
               that is the same for everyone (uninformative)
``horizon``    forecast submissions copied several times per rep-period, with a known
               hit rate and WAPE: coverage of the rep-period bootstrap vs a naive interval
=============  =====================================================================

They are test helpers, not part of the library: the sample (``salesx2lib.sample``) is
the one synthetic floor users see, and its truth is written in data/sample/README.md.
"""
