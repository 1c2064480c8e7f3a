#!/usr/bin/env python3
r"""pynetdicom Print SCU for filmd's tests.

  pynet_print.py --port P --ae AE --scenario NAME [options]

Prints one JSON object on stdout: every DIMSE response ("responses": op,
sop_class, instance_uid, status as a hex string, error_comment,
offending_element) plus what the scenario learned (film session / film box /
image box UIDs, Referenced Image Box Sequence lengths, print jobs, events,
printer attributes, C-ECHO status). Exit code 0 when every expectation of the
scenario was met, 1 otherwise (each mismatch explained on stderr and listed in
"mismatches"), 2 on bad usage.

Scenarios
  print       [N-GET Printer (--get-printer)], [N-CREATE Presentation LUT
              (--plut)], N-CREATE film session, then per film (--films N):
              N-CREATE film box, N-SET image boxes, [N-ACTION film box];
              [N-ACTION film session (--session-print)], N-DELETE film
              session, release.  Expected: every status 0x0000, or one of
              the --allow codes.  The Referenced Image Box Sequence must have
              as many items as the Image Display Format has boxes (STANDARD,
              ROW, COL; or --expect-boxes N).
  events      like print, with the Print Job context negotiated and an
              N-EVENT-REPORT handler: each N-ACTION reply must carry a
              Referenced Print Job Sequence; the Print Job is N-GET at once,
              then the script waits up to --wait s for Print Job events
              (stops at DONE/FAILURE).  Expected: --expect-events (default
              3 = DONE) seen in that order among the event type IDs.
  echo        an association proposing Verification only, then C-ECHO.
              Expected: accepted, status 0x0000.
  printer     N-GET Printer (1.2.840.10008.5.1.1.17 on the grayscale, or with
              --color the color, meta context) and N-GET Printer
              Configuration Retrieval (instance 1.2.840.10008.5.1.1.17.376,
              own context 1.2.840.10008.5.1.1.16.376; --skip-pcr to omit).
  annotation  like print, with film box Annotation Display Format ID
              (--annotation-format) and the Basic Annotation Box context;
              N-SET each returned annotation box (up to --annotation-count)
              with Annotation Position i and Text String (--text 'a|b|c').
              Expected: at least one annotation box returned, all success.
  bad         one bad input (--case NAME); the status of the offending
              operation must match --expect (default per case, below); then
              C-ECHO on the same association, or a new one if it was ended,
              must return 0x0000.

Bad cases (default expectation):
  short_pixels             image box N-SET, Pixel Data shorter than
                           Rows*Columns*bytes (failure)
  long_pixels              ... longer than that (failure)
  huge_dims                Rows = Columns = 65535 with 16 bytes of pixel data
                           (failure)
  bad_filmsize             film box N-CREATE, Film Size ID --filmsize
                           (default BOGUS) (failure)
  bad_format               film box N-CREATE, Image Display Format --format
                           (default STANDARD\0,0) (failure)
  nset_unknown             image box N-SET on a random instance UID (failure)
  filmbox_without_session  film box N-CREATE referencing a random film session,
                           none created (failure)
  empty_filmbox_print      film box N-ACTION with no image set (0xB603)
  empty_session_print      film session N-ACTION with no film box (0xC600)
  bad_bits_stored          image box N-SET, Bits Allocated 16, Stored 10 (failure)
  second_session           second film session N-CREATE on one association
                           (failure)
--expect takes hex codes and/or the words success, warning, failure
(comma separated); any one of them matches.
DCMTK 3.6.7 dcmprscp answers: bad_filmsize, bad_format, bad_bits_stored
0x0106; nset_unknown 0x0112; filmbox_without_session 0x0117;
empty_filmbox_print 0xB603; empty_session_print 0xC600; second_session
0x0111; and short_pixels, long_pixels, huge_dims 0x0000 (it does not check
the pixel data length), so those three "fail" against it by design.

Validation against DCMTK's dcmprscp (grayscale, STANDARD\C,R only, one
association at a time, no Print Job / annotation / Printer Configuration
Retrieval): see the recipe at the top of dcmtk_print.py for the server config,
then e.g. inside the namespace
  python3 tests/peers/pynet_print.py --port 10400 --ae PRINTSCP \
      --scenario print --format 'STANDARD\2,2' --bits 12 --values 0,1000,2000,4095
  python3 tests/peers/pynet_print.py --port 10400 --ae PRINTSCP \
      --scenario printer --skip-pcr
"""

import argparse
import faulthandler
import json
import os
import signal
import ssl
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep tests/peers free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pydicom.dataset import Dataset  # noqa: E402
from pydicom.sequence import Sequence  # noqa: E402
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid  # noqa: E402
from pynetdicom import AE, evt  # noqa: E402
from pynetdicom.sop_class import (  # noqa: E402
    BasicAnnotationBox,
    BasicColorImageBox,
    BasicColorPrintManagementMeta,
    BasicFilmBox,
    BasicFilmSession,
    BasicGrayscaleImageBox,
    BasicGrayscalePrintManagementMeta,
    PresentationLUT,
    Printer,
    PrinterConfigurationRetrieval,
    PrintJob,
    Verification,
)

from make_images import pixel_array  # noqa: E402

PRINTER_INSTANCE = "1.2.840.10008.5.1.1.17"
PCR_INSTANCE = "1.2.840.10008.5.1.1.17.376"
WARNING_CODES = {0x0001, 0x0107, 0x0116}
CLASS_NAMES = {
    str(BasicFilmSession): "BasicFilmSession",
    str(BasicFilmBox): "BasicFilmBox",
    str(BasicGrayscaleImageBox): "BasicGrayscaleImageBox",
    str(BasicColorImageBox): "BasicColorImageBox",
    str(BasicAnnotationBox): "BasicAnnotationBox",
    str(PresentationLUT): "PresentationLUT",
    str(PrintJob): "PrintJob",
    str(Printer): "Printer",
    str(PrinterConfigurationRetrieval): "PrinterConfigurationRetrieval",
    str(Verification): "Verification",
    str(BasicGrayscalePrintManagementMeta): "BasicGrayscalePrintManagementMeta",
    str(BasicColorPrintManagementMeta): "BasicColorPrintManagementMeta",
}
EVENT_NAMES = {
    str(PrintJob): {1: "PENDING", 2: "PRINTING", 3: "DONE", 4: "FAILURE"},
    str(Printer): {1: "NORMAL", 2: "WARNING", 3: "FAILURE"},
}
BAD_CASES = {
    "short_pixels": "failure",
    "long_pixels": "failure",
    "huge_dims": "failure",
    "bad_filmsize": "failure",
    "bad_format": "failure",
    "nset_unknown": "failure",
    "filmbox_without_session": "failure",
    "empty_filmbox_print": "0xB603",
    "empty_session_print": "0xC600",
    "bad_bits_stored": "failure",
    "second_session": "failure",
}


def category(code):
    if code is None:
        return "none"
    if code == 0:
        return "success"
    if code in WARNING_CODES or (code & 0xF000) == 0xB000:
        return "warning"
    return "failure"


def hexs(code):
    return None if code is None else f"0x{code:04X}"


def to_json(value):
    """Make a pydicom value / Dataset JSON-friendly (Pixel Data by length)."""
    if isinstance(value, Dataset):
        out = {}
        for elem in value:
            key = elem.keyword or str(elem.tag)
            if elem.tag == 0x7FE00010 or elem.VR in ("OB", "OW", "OF", "OD", "UN"):
                out[key] = f"<{len(elem.value or b'')} bytes>"
            else:
                out[key] = to_json(elem.value)
        return out
    if isinstance(value, (Sequence, list, tuple)) or type(value).__name__ == "MultiValue":
        return [to_json(v) for v in value]
    if isinstance(value, (int, float, str)) or value is None:
        return value
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return str(value)


def boxes_in_format(fmt):
    """Number of image boxes an Image Display Format asks for, or None."""
    try:
        kind, _, arg = fmt.partition("\\")
        nums = [int(x) for x in arg.split(",")]
        if kind == "STANDARD" and len(nums) == 2:
            return nums[0] * nums[1]
        if kind in ("ROW", "COL") and nums:
            return sum(nums)
    except ValueError:
        pass
    return None


def guard_reactor_pause(assoc):
    """Work around a pynetdicom race that hangs an SCU receiving N-EVENT-REPORTs.

    send_*() pauses the association's reactor thread by clearing a checkpoint, then
    spins until the reactor sets ``_is_paused`` (no timeout). pynetdicom serves each
    N-EVENT-REPORT in a thread of its own (dimse.py), and that thread's
    ``_serve_request`` sets ``_is_paused = True`` before the handler and ``False``
    after it. When the handler finishes after the reactor has paused, the flag goes
    back to False while the reactor waits at the cleared checkpoint: the next
    send_*() spins forever. (Seen with pynetdicom 3.0.4 when FAILURE arrives while an
    N-GET is being sent.) Only the reactor and the caller's thread may clear the flag;
    setting it stays open to every thread, so kill() from any thread still frees a
    spinning send_*().
    """
    owner = threading.current_thread()
    base = type(assoc)

    def get(self):
        return self.__dict__.get("_is_paused", False)

    def put(self, value):
        if value or threading.current_thread() in (self, owner):
            self.__dict__["_is_paused"] = value

    assoc.__class__ = type(base.__name__, (base,), {"_is_paused": property(get, put)})


class Session:
    """One run: the AE, the association, every response, and mismatches."""

    def __init__(self, args):
        self.a = args
        self.result = {"scenario": args.scenario, "ok": False, "responses": [],
                       "mismatches": []}
        if args.scenario == "bad":
            self.result["case"] = args.case
        self.assoc = None
        self.msg_id = 0
        self.last_rsp = {}
        self.events = []
        self.events_done = threading.Event()
        self.meta = BasicColorPrintManagementMeta if args.color else \
            BasicGrayscalePrintManagementMeta
        self.image_box_class = BasicColorImageBox if args.color else BasicGrayscaleImageBox

    # ---- plumbing ---------------------------------------------------------
    def mismatch(self, text):
        self.result["mismatches"].append(text)

    def make_ae(self, contexts):
        ae = AE(ae_title=self.a.calling_ae)
        ae.acse_timeout = self.a.timeout
        ae.dimse_timeout = self.a.timeout
        ae.network_timeout = self.a.timeout
        ae.maximum_pdu_size = self.a.max_pdu
        ts = {"both": [ExplicitVRLittleEndian, ImplicitVRLittleEndian],
              "explicit": [ExplicitVRLittleEndian],
              "implicit": [ImplicitVRLittleEndian]}[self.a.ts]
        for cx in contexts:
            ae.add_requested_context(cx, ts)
        return ae

    def on_event(self, event):
        req = event.request
        try:
            info = event.event_information
        except Exception as e:  # undecodable Event Information
            info = None
            self.mismatch(f"N-EVENT-REPORT: cannot decode Event Information: {e}")
        rec = {
            "sop_class": CLASS_NAMES.get(str(req.AffectedSOPClassUID),
                                         str(req.AffectedSOPClassUID)),
            "instance_uid": str(req.AffectedSOPInstanceUID),
            "event_type_id": req.EventTypeID,
            "event": (EVENT_NAMES.get(str(req.AffectedSOPClassUID), {})
                      .get(req.EventTypeID, "UNKNOWN")),
            "time": round(time.monotonic() - self.t0, 6),
            # pynetdicom serves each N-EVENT-REPORT in a thread of its own, so the
            # handlers may run out of order: the SCP's Message ID gives its order
            "message_id": req.MessageID,
        }
        if info is not None:
            rec["attributes"] = to_json(info)
            rec["execution_status"] = str(info.get("ExecutionStatus", "")) or None
            rec["execution_status_info"] = str(info.get("ExecutionStatusInfo", "")) or None
        self.events.append(rec)
        if str(req.AffectedSOPClassUID) == str(PrintJob) and req.EventTypeID in (3, 4):
            self.events_done.set()
            if self.a.confirm_delay:
                # hold the confirmation (pynetdicom runs this handler in a thread of
                # its own): until we answer, the SCP must keep the Print Job
                time.sleep(self.a.confirm_delay)
        return 0x0000, None

    def associate(self, contexts, events=False):
        ae = self.make_ae(contexts)
        handlers = [(evt.EVT_N_EVENT_REPORT, self.on_event)] if events else []
        # The A-ASSOCIATE-RJ as it came off the wire (PS3.8 9.3.4). pynetdicom 3.0.4 may
        # report a fast rejection as an abort: its ACSE thread finds the socket already
        # closed by its DUL thread (which closed it on the RJ) and aborts without reading
        # the rejection; the PDU event sees it either way.
        rj = {}

        def on_pdu(event):
            if type(event.pdu).__name__ == "A_ASSOCIATE_RJ":
                rj.update(result=event.pdu.result, source=event.pdu.source,
                          reason=event.pdu.reason_diagnostic)
        handlers.append((evt.EVT_PDU_RECV, on_pdu))
        self.t0 = time.monotonic()
        tls_args = None
        if self.a.tls_ca:
            # DICOM TLS (PS3.15 B.9): verify filmd against the CA, show a client
            # certificate when one is given
            ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.a.tls_ca)
            if self.a.tls_cert:
                ctx.load_cert_chain(self.a.tls_cert, self.a.tls_key)
            tls_args = (ctx, self.a.host)
        bind = (self.a.bind, 0) if self.a.bind else None
        assoc = ae.associate(self.a.host, self.a.port, ae_title=self.a.ae, evt_handlers=handlers,
                             bind_address=bind, tls_args=tls_args)
        info = {"established": assoc.is_established,
                "rejected": assoc.is_rejected or bool(rj), "aborted": assoc.is_aborted}
        info.update(rj)
        if assoc.is_established:
            info["accepted_contexts"] = sorted(
                CLASS_NAMES.get(str(cx.abstract_syntax), str(cx.abstract_syntax))
                for cx in assoc.accepted_contexts)
            # capture every response primitive: pynetdicom does not return
            # the N-CREATE response's Affected SOP Instance UID
            orig = assoc.dimse.get_msg
            msg_queue = assoc.dimse.msg_queue

            def get_msg(block=False, _orig=orig, _assoc=assoc, _q=msg_queue):
                cx_id, msg = _orig(block)
                is_rsp = msg is not None and \
                    getattr(msg, "MessageIDBeingRespondedTo", None) is not None
                if is_rsp and threading.current_thread() is _assoc:
                    # pynetdicom race (cf. pynetdicom issue #875): send_*() pauses
                    # the association's reactor thread by clearing a checkpoint
                    # and waiting for a flag the reactor may not have reset yet
                    # after the previous send_*(), so under load the reactor
                    # can take a fast SCP's response off the queue ("Received
                    # unexpected ... service message") and send_*() times out.
                    # Responses belong to the waiting send_*(): put it back in
                    # front, in order, and wake the waiter.
                    with _q.mutex:
                        _q.queue.appendleft((cx_id, msg))
                        _q.not_empty.notify()
                    return None, None
                if is_rsp:
                    self.last_rsp["msg"] = msg
                return cx_id, msg

            assoc.dimse.get_msg = get_msg
            guard_reactor_pause(assoc)
        self.result.setdefault("associations", []).append(info)
        self.assoc = assoc
        return assoc.is_established

    def accepted(self, abstract):
        return any(str(cx.abstract_syntax) == str(abstract) for cx in self.assoc.accepted_contexts)

    def record(self, op, class_uid, instance_uid, status, attrs=None):
        code = status.Status if "Status" in status else None
        rsp = self.last_rsp.pop("msg", None)
        rec = {"op": op, "sop_class": CLASS_NAMES.get(str(class_uid), str(class_uid)),
               "instance_uid": str(instance_uid) if instance_uid else None,
               "status": hexs(code), "category": category(code)}
        if rsp is not None and getattr(rsp, "AffectedSOPInstanceUID", None):
            rec["rsp_instance_uid"] = str(rsp.AffectedSOPInstanceUID)
            if not instance_uid:
                rec["instance_uid"] = rec["rsp_instance_uid"]
        if rsp is not None and getattr(rsp, "AffectedSOPClassUID", None):
            rec["rsp_sop_class"] = CLASS_NAMES.get(str(rsp.AffectedSOPClassUID),
                                                   str(rsp.AffectedSOPClassUID))
        if "ErrorComment" in status:
            rec["error_comment"] = str(status.ErrorComment)
        if "OffendingElement" in status:
            oe = status.OffendingElement
            oe = oe if isinstance(oe, (list, tuple)) or type(oe).__name__ == "MultiValue" else [oe]
            rec["offending_element"] = [f"({int(t) >> 16:04X},{int(t) & 0xFFFF:04X})" for t in oe]
        if code is None:
            rec["error_comment"] = rec.get("error_comment") or \
                "no response (timeout, abort or invalid response)"
        self.result["responses"].append(rec)
        return rec, attrs

    def next_id(self):
        self.msg_id += 1
        return self.msg_id

    def n_create(self, ds, cls, uid=None, meta=None):
        # pynetdicom sends an empty Dataset as "data set present" with no
        # bytes, and the SCP then waits for a data set that never comes
        if ds is not None and len(ds) == 0:
            ds = None
        st, attrs = self.assoc.send_n_create(ds, cls, uid, msg_id=self.next_id(), meta_uid=meta)
        return self.record("N-CREATE", cls, uid, st, attrs)

    def n_set(self, ds, cls, uid, meta=None):
        st, attrs = self.assoc.send_n_set(ds, cls, uid, msg_id=self.next_id(), meta_uid=meta)
        return self.record("N-SET", cls, uid, st, attrs)

    def n_get(self, tags, cls, uid, meta=None):
        st, attrs = self.assoc.send_n_get(tags, cls, uid, msg_id=self.next_id(), meta_uid=meta)
        return self.record("N-GET", cls, uid, st, attrs)

    def n_action(self, cls, uid, meta=None):
        st, attrs = self.assoc.send_n_action(None, 1, cls, uid, msg_id=self.next_id(),
                                             meta_uid=meta)
        return self.record("N-ACTION", cls, uid, st, attrs)

    def n_delete(self, cls, uid, meta=None):
        st = self.assoc.send_n_delete(cls, uid, msg_id=self.next_id(), meta_uid=meta)
        return self.record("N-DELETE", cls, uid, st)

    def c_echo(self):
        st = self.assoc.send_c_echo(msg_id=self.next_id())
        return self.record("C-ECHO", Verification, None, st)

    def release(self):
        if self.assoc is not None and self.assoc.is_established:
            self.assoc.release()

    def new_uid(self):
        return generate_uid() if self.a.scu_uids else None

    # ---- building blocks --------------------------------------------------
    def create_plut(self):
        ds = Dataset()
        shape = self.a.plut
        if shape.lower() == "table":
            n = 4096 if self.a.bits == 12 else 256
            item = Dataset()
            item.LUTDescriptor = [n, 0, 12]
            item.LUTData = [round(i * 4095 / (n - 1)) for i in range(n)]
            item["LUTDescriptor"].VR = "US"
            item["LUTData"].VR = "US"
            ds.PresentationLUTSequence = [item]
        else:
            ds.PresentationLUTShape = shape
        rec, attrs = self.n_create(ds, PresentationLUT, self.new_uid())
        self.result["presentation_lut_attributes"] = to_json(attrs) if attrs is not None else None
        if rec["category"] == "failure" or rec["category"] == "none":
            return None
        return rec["instance_uid"]

    def plut_ref(self, uid):
        ref = Dataset()
        ref.ReferencedSOPClassUID = PresentationLUT
        ref.ReferencedSOPInstanceUID = uid
        return [ref]

    def create_session(self, plut_uid=None):
        a = self.a
        ds = Dataset()
        if a.copies is not None:
            ds.NumberOfCopies = str(a.copies)
        if a.priority:
            ds.PrintPriority = a.priority
        if a.medium:
            ds.MediumType = a.medium
        if a.destination:
            ds.FilmDestination = a.destination
        if a.label:
            ds.FilmSessionLabel = a.label
        if a.memory_allocation is not None:
            ds.MemoryAllocation = str(a.memory_allocation)
        if a.owner:
            ds.OwnerID = a.owner
        if plut_uid and a.plut_in_session:
            ds.ReferencedPresentationLUTSequence = self.plut_ref(plut_uid)
        rec, attrs = self.n_create(ds, BasicFilmSession, self.new_uid(), self.meta)
        if rec["category"] in ("failure", "none"):
            return None
        if not rec["instance_uid"]:
            self.mismatch("film session N-CREATE response has no Affected SOP Instance UID")
            return None
        self.result["film_session_uid"] = rec["instance_uid"]
        self.result["film_session_attributes"] = to_json(attrs) if attrs is not None else None
        return rec["instance_uid"]

    def film_box_dataset(self, session_uid, plut_uid=None, fmt=None, filmsize=None):
        a = self.a
        ds = Dataset()
        ds.ImageDisplayFormat = fmt if fmt is not None else a.format
        for kw, val in (("FilmOrientation", a.orientation),
                        ("FilmSizeID", filmsize if filmsize is not None else a.filmsize),
                        ("MagnificationType", a.magnification),
                        ("SmoothingType", a.smoothing),
                        ("BorderDensity", a.border),
                        ("EmptyImageDensity", a.empty),
                        ("Trim", a.trim),
                        ("RequestedResolutionID", a.resolution),
                        ("ConfigurationInformation", a.configinfo),
                        ("AnnotationDisplayFormatID", a.annotation_format
                         if a.scenario == "annotation" or a.annotation_format_always else None)):
            if val is not None:
                setattr(ds, kw, val)
        for kw, val in (("MinDensity", a.min_density), ("MaxDensity", a.max_density),
                        ("Illumination", a.illumination),
                        ("ReflectedAmbientLight", a.reflected_ambient_light)):
            if val is not None:
                setattr(ds, kw, int(val))
        ref = Dataset()
        ref.ReferencedSOPClassUID = BasicFilmSession
        ref.ReferencedSOPInstanceUID = session_uid
        ds.ReferencedFilmSessionSequence = [ref]
        if plut_uid and not a.plut_in_session:
            ds.ReferencedPresentationLUTSequence = self.plut_ref(plut_uid)
        return ds

    def create_film_box(self, session_uid, plut_uid=None, fmt=None, filmsize=None):
        ds = self.film_box_dataset(session_uid, plut_uid, fmt, filmsize)
        rec, attrs = self.n_create(ds, BasicFilmBox, self.new_uid(), self.meta)
        if rec["category"] in ("failure", "none"):
            return None
        box = {"uid": rec["instance_uid"], "image_boxes": [], "annotation_boxes": [],
               "attributes": to_json(attrs) if attrs is not None else None}
        if not box["uid"]:
            self.mismatch("film box N-CREATE response has no Affected SOP Instance UID")
        if attrs is None:
            self.mismatch("film box N-CREATE response has no data set")
            attrs = Dataset()
        for item in attrs.get("ReferencedImageBoxSequence", []):
            box["image_boxes"].append({"class": str(item.get("ReferencedSOPClassUID", "")),
                                       "uid": str(item.get("ReferencedSOPInstanceUID", ""))})
        for item in attrs.get("ReferencedBasicAnnotationBoxSequence", []):
            box["annotation_boxes"].append(
                {"class": str(item.get("ReferencedSOPClassUID", "")),
                 "uid": str(item.get("ReferencedSOPInstanceUID", ""))})
        n = len(box["image_boxes"])
        want = self.a.expect_boxes if self.a.expect_boxes is not None else \
            boxes_in_format(ds.ImageDisplayFormat)
        if want is not None and n != want:
            self.mismatch(f"Referenced Image Box Sequence has {n} items, expected {want} "
                          f"for {ds.ImageDisplayFormat!r}")
        for ib in box["image_boxes"]:
            if ib["class"] != str(self.image_box_class):
                self.mismatch(f"image box class {ib['class']} != {self.image_box_class}")
                break
        self.result.setdefault("film_boxes", []).append(box)
        self.result.setdefault("image_box_count", []).append(n)
        return box

    def image_item(self, value_pattern, rows=None, cols=None):
        """Basic Grayscale/Color Image Sequence item for one box."""
        a = self.a
        rows = rows or a.rows
        cols = cols or a.cols
        item = Dataset()
        if a.color:
            arr = pixel_array(rows, cols, 8, "RGB", value_pattern)
            item.SamplesPerPixel = 3
            item.PhotometricInterpretation = "RGB"
            item.PlanarConfiguration = 1
            item.Rows, item.Columns = rows, cols
            item.BitsAllocated, item.BitsStored, item.HighBit = 8, 8, 7
            item.PixelRepresentation = 0
            data = arr.transpose(2, 0, 1).tobytes()  # color-by-plane
            vr = "OB"
        else:
            arr = pixel_array(rows, cols, a.bits, a.photometric, value_pattern)
            item.SamplesPerPixel = 1
            item.PhotometricInterpretation = a.photometric
            item.Rows, item.Columns = rows, cols
            if a.bits == 12:
                item.BitsAllocated, item.BitsStored, item.HighBit = 16, 12, 11
                data = arr.astype("<u2").tobytes()
                vr = "OW"
            else:
                item.BitsAllocated, item.BitsStored, item.HighBit = 8, 8, 7
                data = arr.tobytes()
                vr = "OB"
            item.PixelRepresentation = 0
        if len(data) % 2:
            data += b"\0"
        item.PixelData = data
        item["PixelData"].VR = vr
        return item

    def image_box_dataset(self, position, item):
        a = self.a
        ds = Dataset()
        ds.ImageBoxPosition = position
        if a.polarity and not a.color:
            ds.Polarity = a.polarity
        if a.img_magnification:
            ds.MagnificationType = a.img_magnification
        if a.requested_size is not None:
            ds.RequestedImageSize = str(a.requested_size)
        if a.decimate_crop:
            ds.RequestedDecimateCropBehavior = a.decimate_crop
        seq = "BasicColorImageSequence" if a.color else "BasicGrayscaleImageSequence"
        setattr(ds, seq, [item] if item is not None else [])
        return ds

    def patterns(self, nboxes):
        a = self.a
        if a.values:
            pats = [f"uniform:{v.strip()}" for v in a.values.split(",") if v.strip()]
        else:
            pats = [a.pattern] * nboxes
        if a.fill is not None:
            pats = (pats * (a.fill // max(len(pats), 1) + 1))[:a.fill]
        if len(pats) > nboxes:
            self.mismatch(f"{len(pats)} images for {nboxes} image boxes; extra ones dropped")
            pats = pats[:nboxes]
        return pats

    def fill_boxes(self, box):
        for i, pat in enumerate(self.patterns(len(box["image_boxes"]))):
            ib = box["image_boxes"][i]
            self.n_set(self.image_box_dataset(i + 1, self.image_item(pat)),
                       self.image_box_class, ib["uid"], self.meta)

    def note_print_job(self, attrs):
        # (2100,0500) Referenced Print Job Sequence (PS3.4 H.4.1.2.4.2 / H.4.2.2.4.2);
        # pydicom's keyword for it is ReferencedPrintJobSequencePullStoredPrint, while
        # its "ReferencedPrintJobSequence" is the retired (2120,0070): look up by tag.
        elem = attrs.get(0x21000500) if attrs is not None else None
        seq = elem.value if elem is not None and elem.value else []
        uids = [str(it.ReferencedSOPInstanceUID) for it in seq
                if "ReferencedSOPInstanceUID" in it]
        self.result.setdefault("print_job_uids", []).extend(uids)
        return uids

    def check_all_ok(self, skip=()):
        allowed = {int(x, 16) for x in self.a.allow.split(",") if x.strip()} \
            if self.a.allow else set()
        for i, r in enumerate(self.result["responses"]):
            if i in skip or r.get("unchecked"):
                continue
            code = int(r["status"], 16) if r["status"] else None
            if code != 0 and code not in allowed:
                self.mismatch(f"{r['op']} {r['sop_class']}: status {r['status']}"
                              f"{' (' + r['error_comment'] + ')' if r.get('error_comment') else ''}"
                              f", expected 0x0000{' or ' + self.a.allow if self.a.allow else ''}")

    # ---- scenarios --------------------------------------------------------
    def run_print(self, events=False, annotation=False):
        a = self.a
        contexts = [self.meta, Verification]
        if a.plut:
            contexts.append(PresentationLUT)
        if events:
            contexts.append(PrintJob)
        if annotation:
            contexts.append(BasicAnnotationBox)
        if not self.associate(contexts, events=events):
            self.mismatch("association not established")
            return
        for cx in contexts:
            if not self.accepted(cx):
                self.mismatch(f"presentation context {CLASS_NAMES.get(str(cx), str(cx))} "
                              "not accepted")
        if not self.accepted(self.meta):
            return
        if a.get_printer:
            rec, attrs = self.n_get([], Printer, PRINTER_INSTANCE, self.meta)
            self.result["printer"] = to_json(attrs) if attrs is not None else None
        plut_uid = None
        if a.plut:
            plut_uid = self.create_plut()
            self.result["presentation_lut_uid"] = plut_uid
        session = self.create_session(plut_uid)
        if session is None:
            self.check_all_ok()
            return
        for _ in range(a.films):
            box = self.create_film_box(session, plut_uid)
            if box is None:
                break
            if annotation:
                self.set_annotations(box)
            self.fill_boxes(box)
            if not a.session_print and not a.no_print:
                rec, attrs = self.n_action(BasicFilmBox, box["uid"], self.meta)
                self.after_action(rec, attrs, events)
        if a.session_print and not a.no_print:
            rec, attrs = self.n_action(BasicFilmSession, session, self.meta)
            self.after_action(rec, attrs, events)
        if events:
            self.wait_events()
        if a.delete_filmbox and self.result.get("film_boxes"):
            self.n_delete(BasicFilmBox, self.result["film_boxes"][-1]["uid"], self.meta)
        if not a.no_delete:
            self.n_delete(BasicFilmSession, session, self.meta)
        if plut_uid and not a.no_delete:
            self.n_delete(PresentationLUT, plut_uid)
        self.check_all_ok()
        if annotation and not any(b["annotation_boxes"] for b in self.result.get("film_boxes", [])):
            self.mismatch("film box N-CREATE returned no Referenced Basic Annotation Box Sequence")

    def after_action(self, rec, attrs, events):
        uids = self.note_print_job(attrs)
        if not events:
            return
        if rec["category"] in ("failure", "none"):
            return
        if not uids:
            self.mismatch("N-ACTION reply has no Referenced Print Job Sequence")
            return
        for uid in uids:
            sent = time.monotonic() - self.t0
            grec, gattrs = self.n_get([], PrintJob, uid)
            job = {"uid": uid, "status": grec["status"], "get_sent": round(sent, 6),
                   "attributes": to_json(gattrs) if gattrs is not None else None}
            if grec["status"] == "0x0112":
                # The SCP deletes a job once the SCU has confirmed its DONE or
                # FAILURE event: "no such instance" is right only if we had
                # confirmed one before sending the N-GET. Our handler runs
                # before pynetdicom confirms, so a final event handled after
                # the N-GET was sent cannot have been confirmed before it.
                final = [e for e in self.events if e["instance_uid"] == uid
                         and e["sop_class"] == "PrintJob" and e["event_type_id"] in (3, 4)]
                if final and final[0]["time"] < sent:
                    job["deleted_after_final_event"] = True
                    grec["unchecked"] = True
                else:
                    self.mismatch(f"N-GET Print Job {uid}: 0x0112 although no DONE/FAILURE "
                                  "event had been confirmed before the N-GET was sent")
            self.result.setdefault("print_jobs", []).append(job)

    def wait_events(self):
        a = self.a
        njobs = len(self.result.get("print_job_uids", []))
        deadline = time.monotonic() + a.wait
        while time.monotonic() < deadline:
            finished = {e["instance_uid"] for e in self.events
                        if e["sop_class"] == "PrintJob" and e["event_type_id"] in (3, 4)}
            if njobs and len(finished) >= njobs:
                break
            self.events_done.wait(min(0.2, max(0.0, deadline - time.monotonic())))
            self.events_done.clear()
        self.result["events"] = sorted(self.events, key=lambda e: e["message_id"] or 0)
        ids = [e["event_type_id"] for e in self.result["events"] if e["sop_class"] == "PrintJob"]
        self.result["print_job_event_ids"] = ids
        want = [int(x) for x in a.expect_events.split(",") if x.strip()]
        it = iter(ids)
        if not all(any(w == got for got in it) for w in want):
            self.mismatch(f"Print Job event type IDs {ids}, expected {want} in that order "
                          f"within {a.wait}s")
        if a.get_after:
            for uid in self.result.get("print_job_uids", []):
                grec, gattrs = self.n_get([], PrintJob, uid)
                self.result.setdefault("print_jobs_after", []).append(
                    {"uid": uid, "status": grec["status"],
                     "attributes": to_json(gattrs) if gattrs is not None else None})
                # after DONE/FAILURE the SCP shall delete the job: any status is fine
                self.result["responses"][-1]["unchecked"] = True

    def set_annotations(self, box):
        a = self.a
        texts = a.text.split("|") if a.text else ["filmd annotation"]
        boxes = box["annotation_boxes"][:a.annotation_count] if a.annotation_count else \
            box["annotation_boxes"]
        for i, ab in enumerate(boxes):
            ds = Dataset()
            ds.AnnotationPosition = i + 1
            ds.TextString = texts[i % len(texts)]
            self.n_set(ds, BasicAnnotationBox, ab["uid"])

    def run_echo(self):
        if not self.associate([Verification]):
            self.mismatch("association not established")
            return
        rec, _ = self.c_echo()
        self.result["echo_status"] = rec["status"]
        self.check_all_ok()

    def run_printer(self):
        a = self.a
        contexts = [self.meta, Verification]
        if not a.skip_pcr:
            contexts.append(PrinterConfigurationRetrieval)
        if not self.associate(contexts):
            self.mismatch("association not established")
            return
        for cx in contexts:
            if not self.accepted(cx):
                self.mismatch(f"presentation context {CLASS_NAMES.get(str(cx), str(cx))} "
                              "not accepted")
        if self.accepted(self.meta):
            rec, attrs = self.n_get([], Printer, PRINTER_INSTANCE, self.meta)
            self.result["printer"] = to_json(attrs) if attrs is not None else None
            if attrs is not None and "PrinterStatus" not in attrs:
                self.mismatch("Printer N-GET reply has no Printer Status (2110,0010)")
        if not a.skip_pcr and self.accepted(PrinterConfigurationRetrieval):
            rec, attrs = self.n_get([], PrinterConfigurationRetrieval, PCR_INSTANCE)
            self.result["printer_configuration"] = to_json(attrs) if attrs is not None else None
            if attrs is not None and "PrinterConfigurationSequence" not in attrs:
                self.mismatch("Printer Configuration Retrieval N-GET reply has no "
                              "Printer Configuration Sequence (2000,001E)")
        self.check_all_ok()

    def run_bad(self):
        a = self.a
        case = a.case
        if not self.associate([self.meta, Verification]):
            self.mismatch("association not established")
            return
        setup_ok = True
        target = None  # index into responses of the operation under test

        def mark():
            return len(self.result["responses"]) - 1

        if case == "filmbox_without_session":
            ds = self.film_box_dataset(generate_uid())
            self.n_create(ds, BasicFilmBox, self.new_uid(), self.meta)
            target = mark()
        else:
            session = self.create_session()
            if session is None:
                setup_ok = False
            elif case == "second_session":
                self.n_create(Dataset(), BasicFilmSession, self.new_uid(), self.meta)
                target = mark()
            elif case == "empty_session_print":
                self.n_action(BasicFilmSession, session, self.meta)
                target = mark()
            elif case in ("bad_filmsize", "bad_format"):
                if case == "bad_filmsize":
                    self.create_film_box(session, filmsize=a.filmsize or "BOGUS",
                                         fmt="STANDARD\\1,1")
                else:
                    self.create_film_box(session, fmt=a.format)
                target = mark()
                # a failed film box N-CREATE must not leave a box; don't check counts
                self.result["mismatches"] = [m for m in self.result["mismatches"]
                                             if "Referenced Image Box Sequence" not in m]
            else:
                box = self.create_film_box(session, fmt="STANDARD\\1,1")
                if box is None or not box["image_boxes"]:
                    setup_ok = False
                elif case == "empty_filmbox_print":
                    self.n_action(BasicFilmBox, box["uid"], self.meta)
                    target = mark()
                elif case == "nset_unknown":
                    self.n_set(self.image_box_dataset(1, self.image_item("uniform:0", 16, 16)),
                               self.image_box_class, generate_uid(), self.meta)
                    target = mark()
                else:
                    item = self.bad_item(case)
                    self.n_set(self.image_box_dataset(1, item), self.image_box_class,
                               box["image_boxes"][0]["uid"], self.meta)
                    target = mark()
        if not setup_ok or target is None:
            self.mismatch(f"setup for case {case} failed before the bad operation")
        else:
            r = self.result["responses"][target]
            self.result["bad_status"] = r["status"]
            want = [w.strip() for w in (a.expect or BAD_CASES[case]).split(",") if w.strip()]
            got_code = int(r["status"], 16) if r["status"] else None
            hit = False
            for w in want:
                if w.lower() in ("success", "warning", "failure"):
                    hit = hit or r["category"] == w.lower()
                else:
                    hit = hit or (got_code is not None and got_code == int(w, 16))
            if not hit:
                self.mismatch(f"case {case}: {r['op']} {r['sop_class']} status {r['status']}"
                              f"{' (' + r['error_comment'] + ')' if r.get('error_comment') else ''}"
                              f", expected {','.join(want)}")
            # every operation before the one under test must have succeeded
            for i, rr in enumerate(self.result["responses"][:target]):
                if rr["category"] in ("failure", "none"):
                    self.mismatch(f"setup {rr['op']} {rr['sop_class']} failed: {rr['status']}")
        # C-ECHO afterwards: same association if still up, else a new one
        if self.assoc.is_established:
            self.result["echo_association"] = "same"
        else:
            self.result["echo_association"] = "new"
            if not self.associate([Verification]):
                self.mismatch("new association for C-ECHO not established")
                return
        rec, _ = self.c_echo()
        self.result["echo_status"] = rec["status"]
        if rec["status"] != "0x0000":
            self.mismatch(f"C-ECHO after case {case}: status {rec['status']}")

    def bad_item(self, case):
        a = self.a
        item = self.image_item("uniform:100", 64, 64)
        nbytes = 64 * 64 * (2 if (a.bits == 12 and not a.color) else 1) * \
            (3 if a.color else 1)
        if case == "short_pixels":
            item.PixelData = item.PixelData[:nbytes - 100]
        elif case == "long_pixels":
            item.PixelData = item.PixelData + b"\0" * 100
        elif case == "huge_dims":
            item.Rows = 65535
            item.Columns = 65535
            item.PixelData = b"\0" * 16
        elif case == "bad_bits_stored":
            arr = pixel_array(64, 64, 12, "MONOCHROME2", "uniform:100")
            item.SamplesPerPixel = 1
            item.PhotometricInterpretation = "MONOCHROME2"
            item.BitsAllocated, item.BitsStored, item.HighBit = 16, 10, 9
            item.PixelData = arr.astype("<u2").tobytes()
            item["PixelData"].VR = "OW"
        return item


def parse_args(argv):
    ap = argparse.ArgumentParser(
        description="pynetdicom Print SCU: runs one scenario against a Print SCP, prints "
                    "a JSON report, exits 0 when the expected statuses were all seen.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    g = ap.add_argument_group("connection")
    g.add_argument("--host", default="127.0.0.1", help="SCP address (default 127.0.0.1)")
    g.add_argument("--port", type=int, required=True, help="SCP port")
    g.add_argument("--ae", default="FILMD", help="called AE title (default FILMD)")
    g.add_argument("--calling-ae", default="PYNETSCU", help="calling AE title (default PYNETSCU)")
    g.add_argument("--bind", metavar="ADDR",
                   help="source address of the connection, e.g. 127.0.0.2 (default: any)")
    g.add_argument("--timeout", type=float, default=30,
                   help="ACSE/DIMSE/network timeout in seconds (default 30)")
    g.add_argument("--max-pdu", type=int, default=16382,
                   help="our maximum PDU length (default 16382; 0 = unlimited)")
    g.add_argument("--tls-ca", help="connect over TLS, verifying the SCP against this PEM CA file")
    g.add_argument("--tls-cert", help="client certificate (PEM) for --tls-ca")
    g.add_argument("--tls-key", help="its private key (PEM)")
    g.add_argument("--ts", choices=("both", "explicit", "implicit"), default="both",
                   help="transfer syntaxes proposed per context (default both: "
                        "Explicit then Implicit VR Little Endian)")
    ap.add_argument("--scenario", required=True,
                    choices=("print", "events", "printer", "annotation", "bad", "echo"),
                    help="what to do (see below)")
    ap.add_argument("--scu-uids", action="store_true",
                    help="send our own Affected SOP Instance UIDs in N-CREATE (default: "
                         "omit them, the SCP assigns and returns them)")
    ap.add_argument("--allow", metavar="HEX,...",
                    help="warning statuses accepted besides 0x0000, e.g. 0xB605,0xB603")
    g = ap.add_argument_group("film session (N-CREATE)")
    g.add_argument("--copies", type=int, help="Number of Copies")
    g.add_argument("--priority", help="Print Priority: HIGH, MED, LOW")
    g.add_argument("--medium", help="Medium Type, e.g. PAPER, 'BLUE FILM'")
    g.add_argument("--destination", help="Film Destination: MAGAZINE, PROCESSOR, BIN_i")
    g.add_argument("--label", help="Film Session Label")
    g.add_argument("--memory-allocation", type=int, help="Memory Allocation (KB)")
    g.add_argument("--owner", help="Owner ID")
    g = ap.add_argument_group("presentation LUT")
    g.add_argument("--plut", metavar="SHAPE",
                   help="N-CREATE a Presentation LUT first: IDENTITY, 'LIN OD' (shape), or "
                        "'table' (a linear Presentation LUT Sequence, 256 or 4096 entries "
                        "by --bits, 12 bits each); referenced from the film box")
    g.add_argument("--plut-in-session", action="store_true",
                   help="reference the Presentation LUT from the film session instead")
    g = ap.add_argument_group("film box (N-CREATE)")
    g.add_argument("--format", default="STANDARD\\1,1",
                   help="Image Display Format (default 'STANDARD\\1,1'); for --case "
                        "bad_format the bad value (default 'STANDARD\\0,0')")
    g.add_argument("--filmsize", help="Film Size ID (for --case bad_filmsize the bad value)")
    g.add_argument("--orientation", help="Film Orientation: PORTRAIT, LANDSCAPE")
    g.add_argument("--magnification", help="Magnification Type: REPLICATE, BILINEAR, CUBIC, NONE")
    g.add_argument("--smoothing", help="Smoothing Type")
    g.add_argument("--border", help="Border Density: BLACK, WHITE or hundredths of OD")
    g.add_argument("--empty", help="Empty Image Density: BLACK, WHITE or hundredths of OD")
    g.add_argument("--min-density", type=int, help="Min Density (hundredths of OD)")
    g.add_argument("--max-density", type=int, help="Max Density (hundredths of OD)")
    g.add_argument("--trim", choices=("YES", "NO"), help="Trim")
    g.add_argument("--resolution", help="Requested Resolution ID: STANDARD, HIGH")
    g.add_argument("--configinfo", help="Configuration Information")
    g.add_argument("--illumination", type=int, help="Illumination (cd/m2)")
    g.add_argument("--reflected-ambient-light", type=int, help="Reflected Ambient Light (cd/m2)")
    g.add_argument("--annotation-format", default="ANNOTATION",
                   help="Annotation Display Format ID (annotation scenario; default ANNOTATION)")
    g.add_argument("--annotation-format-always", action="store_true",
                   help="send --annotation-format in other scenarios too")
    g.add_argument("--expect-boxes", type=int,
                   help="expected Referenced Image Box Sequence length (default: from "
                        "STANDARD/ROW/COL formats)")
    g = ap.add_argument_group("image boxes (N-SET)")
    g.add_argument("--color", action="store_true",
                   help="Basic Color Print Management Meta: RGB 8-bit, Planar Configuration 1")
    g.add_argument("--bits", type=int, choices=(8, 12), default=8,
                   help="grayscale 8 (8/8/7) or 12 (16/12/11) bits (default 8)")
    g.add_argument("--photometric", choices=("MONOCHROME1", "MONOCHROME2"),
                   default="MONOCHROME2", help="grayscale photometric (default MONOCHROME2)")
    g.add_argument("--values", metavar="V1,V2,...",
                   help="one uniform image per box in position order (R/G/B or V with "
                        "--color); fewer values than boxes leaves the rest empty")
    g.add_argument("--pattern", default="ramp",
                   help="image for every box when --values is absent: ramp (default), "
                        "uniform:V, hsplit:A,B (make_images.py patterns)")
    g.add_argument("--fill", type=int, help="N-SET only the first N boxes (repeating --values)")
    g.add_argument("--rows", type=int, default=64, help="image rows (default 64)")
    g.add_argument("--cols", type=int, default=64, help="image columns (default 64)")
    g.add_argument("--polarity", choices=("NORMAL", "REVERSE"), help="image box Polarity")
    g.add_argument("--img-magnification", help="image box Magnification Type")
    g.add_argument("--requested-size", type=float, help="Requested Image Size (mm)")
    g.add_argument("--decimate-crop", choices=("DECIMATE", "CROP", "FAIL"),
                   help="Requested Decimate/Crop Behavior")
    g = ap.add_argument_group("printing")
    g.add_argument("--films", type=int, default=1, help="film boxes in the session (default 1)")
    g.add_argument("--session-print", action="store_true",
                   help="N-ACTION on the film session (once, after all film boxes) instead "
                        "of on each film box")
    g.add_argument("--no-print", action="store_true", help="no N-ACTION")
    g.add_argument("--delete-filmbox", action="store_true",
                   help="N-DELETE the last film box before the film session")
    g.add_argument("--no-delete", action="store_true",
                   help="no N-DELETE (release with the session alive)")
    g = ap.add_argument_group("print scenario")
    g.add_argument("--get-printer", action="store_true", help="N-GET Printer first")
    g = ap.add_argument_group("events scenario")
    g.add_argument("--wait", type=float, default=30,
                   help="seconds to wait for Print Job DONE/FAILURE events (default 30)")
    g.add_argument("--expect-events", default="3",
                   help="Print Job event type IDs that must appear in this order "
                        "(default '3' = DONE; e.g. '1,2,3'; '' = none required)")
    g.add_argument("--confirm-delay", type=float, default=0, metavar="S",
                   help="answer each Print Job DONE/FAILURE event only after S seconds "
                        "(with --get-after: the N-GET then comes before our confirmation, "
                        "so the SCP must still have the job)")
    g.add_argument("--get-after", action="store_true",
                   help="N-GET each Print Job again after the events (status reported, "
                        "not checked: the SCP deletes finished jobs)")
    g = ap.add_argument_group("printer scenario")
    g.add_argument("--skip-pcr", action="store_true",
                   help="do not negotiate or query Printer Configuration Retrieval")
    g = ap.add_argument_group("annotation scenario")
    g.add_argument("--text", help="Text String(s) for the annotation boxes, '|' separated")
    g.add_argument("--annotation-count", type=int,
                   help="N-SET only the first N annotation boxes (default all)")
    g = ap.add_argument_group("bad scenario")
    g.add_argument("--case", choices=sorted(BAD_CASES), help="which bad input")
    g.add_argument("--expect", metavar="CODES",
                   help="accepted status(es) of the bad operation: hex codes and/or "
                        "success, warning, failure (default per case)")
    a = ap.parse_args(argv)
    if a.scenario == "bad":
        if not a.case:
            ap.error("--scenario bad needs --case")
        if a.case == "bad_format" and a.format == "STANDARD\\1,1":
            a.format = "STANDARD\\0,0"
    if a.films < 1:
        ap.error("--films must be >= 1")
    if a.expect:
        for w in a.expect.split(","):
            w = w.strip()
            if w and w.lower() not in ("success", "warning", "failure"):
                try:
                    int(w, 16)
                except ValueError:
                    ap.error(f"--expect: bad code {w!r}")
    return a


def main(argv=None):
    a = parse_args(argv)
    # A hung peer must say where it hangs: SIGUSR1 dumps every thread's stack.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    s = Session(a)
    try:
        if a.scenario == "print":
            s.run_print()
        elif a.scenario == "events":
            s.run_print(events=True)
        elif a.scenario == "annotation":
            s.run_print(annotation=True)
        elif a.scenario == "printer":
            s.run_printer()
        elif a.scenario == "bad":
            s.run_bad()
        elif a.scenario == "echo":
            s.run_echo()
    except (ValueError, RuntimeError, OSError) as e:
        s.mismatch(f"{type(e).__name__}: {e}")
    finally:
        s.release()
    for r in s.result["responses"]:
        if r.pop("unchecked", False):
            r["checked"] = False
    s.result["ok"] = not s.result["mismatches"]
    print(json.dumps(s.result, indent=1, default=str))
    for m in s.result["mismatches"]:
        print(f"pynet_print: {m}", file=sys.stderr)
    return 0 if s.result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
