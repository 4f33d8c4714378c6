"""The contract between coinstream's parts: what one part writes and another reads.

``events`` (the event schemas on the topics), ``topics`` (the topic names and
how each topic is laid out), ``tables`` (the landed price table) and
``vocabulary`` (intervals, point statuses, id patterns, bounds). Changing a
fact here changes it for every producer and consumer at once; nothing here
knows about a particular service.
"""
