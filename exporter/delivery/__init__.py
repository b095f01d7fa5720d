"""Delivery: what happens to the output folder after ``build`` wrote it.

* :mod:`.books` finds the books of a folder and tells when each is finished;
* :mod:`.ledger` remembers what was e-mailed to whom (``.digest-export-sent.json``);
* :mod:`.message` and :mod:`.smtp` make and send one e-mail per book and address;
* :mod:`.send` is ``digest-export send`` (and ``build --send``) as a library call.

Only :mod:`.smtp` touches the network here.
"""
