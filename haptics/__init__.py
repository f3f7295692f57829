"""The watch link: delivers live-coach nudges to the rep's wrist as short haptic patterns over BLE.

``patterns`` is the vocabulary (one distinct pattern per moment), ``profiles`` turns a pattern into the
GATT write a given watch understands, ``link`` is the ``WatchLink`` protocol its backends implement
(``bleak_link``, ``console_link``, ``fake``), ``factory`` picks one, and ``delivery`` keeps a link up
and sends each nudge before its deadline or records it as expired. Imports nothing of ours.
"""
