"""Lab softphones: SIPp UAS scenarios on the agents' static contacts (and the partner PBX).

Each `LabAgent` (agent.py) runs one SIPp inside the lab chroot, listening where pjsip.conf
sends that endpoint's calls, and does what its `AgentScript` (script.py) says. The scenario
(scenario.py) writes one line per step into a log (SIPp `<log>` actions); `LabAgent` parses it
into `AgentEvent`s (events.py) and waits on them, so tests assert what the softphone really
saw. cli.py is `ivr lab agent`, one softphone run by hand.
"""
