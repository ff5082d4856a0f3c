"""Starts snmpsim's command responder for netpulse's tests.

snmpsim refuses to run as root and drops to an unprivileged user, who may not be able to
read the Python installation afterwards; the DBM module it needs is therefore loaded before
the drop, and used for its record indexes.
"""
import dbm
import dbm.dumb
import runpy
import sys

dbm._defaultmod = dbm.dumb
dbm._modules = {"dbm.dumb": dbm.dumb}
sys.argv[0] = "snmpsim-command-responder"
runpy.run_module("snmpsim.commands.responder", run_name="__main__")
