#!/usr/bin/env python3
"""Ask a Storage Commitment SCP (PS3.4 J, Push Model) for a commitment and record how
the report comes back: on the requesting association or on a new one, with which AE
titles, SCP/SCU role selection and transfer syntaxes.

Usage:
  commitment_probe.py --host 127.0.0.1 --port P --called ORTHANC
                      --aet FILMD --listen-port L [--no-role] [--wait 20]

As AE --aet it listens on 127.0.0.1:--listen-port for the report association
(answering the SCP/SCU role selection sub-item for Storage Commitment with SCU role 0 /
SCP role 1, unless --no-role), then on one association to --host:--port called
--called: C-STORE of a small Secondary Capture image, N-ACTION (Action Type 1) for that
instance and for one that was never stored. It keeps that association open until a
report arrived or --wait seconds passed, answers every N-EVENT-REPORT with 0x0000, and
prints one JSON object:

  {"store_status": 0, "action_status": 0, "transaction_uid": "2.25...",
   "stored_uid": "...", "missing_uid": "...",
   "reports": [{"association": "new" | "same", "calling_ae": "...", "called_ae": "...",
                "role_selection": [[sop_class, scu_role, scp_role]],
                "proposed_transfer_syntaxes": [...], "event_type": 1 | 2,
                "transaction_uid": "...", "committed": [uid...],
                "failed": [[uid, reason]]}]}
"""

import argparse
import json
import sys
import threading
import time

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE, evt
from pynetdicom.sop_class import SecondaryCaptureImageStorage, StorageCommitmentPushModel

WELL_KNOWN_INSTANCE = "1.2.840.10008.1.20.1.1"
REQUEST_COMMITMENT = 1


def image():
    ds = Dataset()
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName = "Commitment^Probe"
    ds.PatientID = "PROBE"
    ds.Modality = "OT"
    ds.ConversionType = "WSD"
    ds.Rows = ds.Columns = 8
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = bytes(range(64))
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--called", required=True)
    ap.add_argument("--aet", required=True)
    ap.add_argument("--listen-port", type=int, required=True)
    ap.add_argument("--no-role", action="store_true")
    ap.add_argument("--wait", type=float, default=20.0)
    args = ap.parse_args()

    reports = []
    requested = {}
    arrived = threading.Event()

    def on_requested(event):
        rq = event.assoc.requestor
        roles = [[str(i.sop_class_uid), bool(i.scu_role), bool(i.scp_role)]
                 for i in rq.user_information if "RoleSelection" in type(i).__name__]
        syntaxes = sorted({str(t) for c in rq.requested_contexts for t in c.transfer_syntax})
        requested[id(event.assoc)] = (roles, syntaxes)

    def on_report(event):
        info = event.event_information
        roles, syntaxes = requested.get(id(event.assoc), ([], []))
        reports.append({
            "association": "new" if event.assoc.is_acceptor else "same",
            "calling_ae": event.assoc.requestor.ae_title,
            "called_ae": event.assoc.acceptor.ae_title,
            "role_selection": roles,
            "proposed_transfer_syntaxes": syntaxes,
            "event_type": int(event.event_type),
            "transaction_uid": str(info.get("TransactionUID", "")),
            "committed": [str(i.ReferencedSOPInstanceUID)
                          for i in info.get("ReferencedSOPSequence", [])],
            "failed": [[str(i.ReferencedSOPInstanceUID), int(i.FailureReason)]
                       for i in info.get("FailedSOPSequence", [])],
        })
        arrived.set()
        return 0x0000, None

    listener = AE(ae_title=args.aet)
    if args.no_role:
        listener.add_supported_context(StorageCommitmentPushModel)
    else:
        listener.add_supported_context(StorageCommitmentPushModel, scu_role=False, scp_role=True)
    server = listener.start_server(
        ("127.0.0.1", args.listen_port), block=False,
        evt_handlers=[(evt.EVT_REQUESTED, on_requested), (evt.EVT_N_EVENT_REPORT, on_report)])

    out = {"reports": reports}
    try:
        scu = AE(ae_title=args.aet)
        scu.add_requested_context(SecondaryCaptureImageStorage, ExplicitVRLittleEndian)
        scu.add_requested_context(StorageCommitmentPushModel)
        assoc = scu.associate(args.host, args.port, ae_title=args.called,
                              evt_handlers=[(evt.EVT_N_EVENT_REPORT, on_report)])
        if not assoc.is_established:
            print(json.dumps({"error": "association to the SCP failed"}))
            return 2
        ds = image()
        status = assoc.send_c_store(ds)
        out["store_status"] = int(status.Status) if "Status" in status else None
        action = Dataset()
        action.TransactionUID = generate_uid(prefix="2.25.")
        missing = generate_uid()
        refs = []
        for uid in (ds.SOPInstanceUID, missing):
            ref = Dataset()
            ref.ReferencedSOPClassUID = SecondaryCaptureImageStorage
            ref.ReferencedSOPInstanceUID = uid
            refs.append(ref)
        action.ReferencedSOPSequence = refs
        status, _ = assoc.send_n_action(action, REQUEST_COMMITMENT, StorageCommitmentPushModel,
                                        WELL_KNOWN_INSTANCE)
        out["action_status"] = int(status.Status) if "Status" in status else None
        out["transaction_uid"] = str(action.TransactionUID)
        out["stored_uid"] = str(ds.SOPInstanceUID)
        out["missing_uid"] = str(missing)
        # The requesting association stays open while we wait: a report sent on it
        # would be seen here as "same".
        deadline = time.monotonic() + args.wait
        while not arrived.is_set() and assoc.is_established and time.monotonic() < deadline:
            time.sleep(0.05)
        # Give a second report (there should be none) a moment.
        time.sleep(0.5)
        if assoc.is_established:
            assoc.release()
    finally:
        server.shutdown()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
