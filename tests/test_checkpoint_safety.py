"""Checkpoints are not trusted (header checked before anything is built, weights after), the training record
(process, sample shape) travels with the model, sample() refuses a scheduler of another process, and the
command line's timesteps, --out and --seed (issue 10, findings 2, 3 and 6)."""

from __future__ import annotations

import hashlib
import json
import math
import os
import resource
import struct
import threading
import time

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import course_utils as cu
from course_utils.checkpoints import (
    FORMAT,
    SHIPPED,
    CheckpointError,
    _fingerprint,
    check_config,
    config_tensor_shapes,
    read_metadata,
)
from course_utils.ddim import DDIMScheduler
from course_utils.process import check_process, describe_process, process_differences, scheduler_from_process
from course_utils.sample import main as cli_main
from course_utils.sample import make_scheduler
from course_utils.sampling import sample, spread_between_runs

COSINE = {"kind": "noise", "num_train_timesteps": 1000, "beta_schedule": "cosine"}
# sha256 of each shipped file's tensor bytes (everything after the header), recorded from the files as trained
# (commit 0366c9d), before their headers were rewritten with the training record: the weights are bit-identical.
SHIPPED_DATA_SHA256 = {
    "digits": "cdd70d50be025e98e97d9257abda99ab9ab8510d4d35189906509f4f55a2265e",
    "points": "e274b7ff61fc7bac4f3c49ed08c1cddef9eaad1e61b65e0d29d6c76bf92b7f81",
}


def split(path):
    """(header dict, tensor bytes) of a safetensors file."""
    b = path.read_bytes()
    n = struct.unpack("<Q", b[:8])[0]
    return json.loads(b[8:8 + n]), b[8 + n:]


def write_header(path, header: dict, data: bytes) -> None:
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)


def edit(path, **fields) -> None:
    """Change header fields after saving (None deletes one), keeping the tensors and the old fingerprint."""
    header, data = split(path)
    for k, v in fields.items():
        if v is None:
            header["__metadata__"].pop(k, None)
        else:
            header["__metadata__"][k] = v
    write_header(path, header, data)


def small_unet():
    torch.manual_seed(0)
    model = cu.UNet(channels=8, emb_dim=16)
    torch.nn.init.normal_(model.conv_out[-1].weight)
    return model


def saved(tmp_path, model=None, name="m.safetensors"):
    model = model or small_unet()
    return cu.save_checkpoint(model, tmp_path / name, metadata={"note": "test"}, scheduler=cu.NoiseScheduler(
        1000, beta_schedule="cosine"))


def write_checkpoint(path, tensors, config, *, process=COSINE, sample_shape=None, metadata=None, fmt=FORMAT,
                     fingerprint=True):
    """A file the way save_checkpoint writes it, but with any content (e.g. NaN weights)."""
    fields = {"format": fmt, "config": json.dumps(config), "metadata": json.dumps(metadata or {})}
    if fmt == FORMAT:
        shape = sample_shape or ([config["in_channels"], config["image_size"], config["image_size"]]
                                 if config["arch"] == "UNet" else [2])
        fields.update(process=json.dumps(process), sample_shape=json.dumps(shape))
        if fingerprint:
            fields["fingerprint"] = _fingerprint(fields, tensors)
    save_file(tensors, str(path), metadata=fields)
    return path


def weights(model):
    return {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}


# ----------------------------------------------------------------------------- shipped files and the record


def test_shipped_checkpoints_have_the_record_and_unchanged_weights():
    for name in SHIPPED_DATA_SHA256:  # the noise-only checkpoints, whose headers this record was added to
        path = SHIPPED[name]
        header, data = split(path)
        assert hashlib.sha256(data).hexdigest() == SHIPPED_DATA_SHA256[name]  # the weights, bit for bit
        info = read_metadata(name)
        assert info["format"] == FORMAT and info["process"] == COSINE
        assert info["sample_shape"] == ([1, 8, 8] if name == "digits" else [2])
        assert "schedule" not in info["metadata"]  # one copy of the process: the record
        assert header["__metadata__"]["fingerprint"].startswith("sha256:")
        assert cu.load_checkpoint(name).trained_on == {"process": COSINE, "sample_shape": info["sample_shape"]}


def test_shipped_blur_checkpoint_records_its_blur():
    info = read_metadata("digits_blur")
    assert info["format"] == FORMAT and info["sample_shape"] == [1, 8, 8]
    assert info["process"]["kind"] == "blur_to_static" and info["process"]["d_min"] == 0.001
    assert {k: info["process"][k] for k in COSINE if k != "kind"} == {k: v for k, v in COSINE.items() if k != "kind"}
    assert "schedule" not in info["metadata"] and "process" not in info["metadata"]


def test_train_records_the_process_and_save_load_keeps_it(tmp_path):
    sched = cu.NoiseScheduler(1000, beta_schedule="linear")
    model, _ = cu.train(cu.PointDenoiser(hidden=16), cu.load_points(64, seed=0), sched, steps=2, batch_size=8,
                        progress=False)
    expected = {"kind": "noise", "num_train_timesteps": 1000, "beta_schedule": "linear", "beta_start": 1e-4,
                "beta_end": 0.02}
    assert model.trained_on == {"process": expected, "sample_shape": [2]}
    path = cu.save_checkpoint(model, tmp_path / "p.safetensors")
    assert read_metadata(path)["process"] == expected
    loaded = cu.load_checkpoint(path)
    assert loaded.trained_on == model.trained_on
    with pytest.raises(ValueError, match="trained on another process.*beta_schedule: trained with 'linear', "
                                         "given 'cosine'"):
        sample(loaded, cu.NoiseScheduler(1000, beta_schedule="cosine", clip_sample=False), 2, progress=False)
    sample(loaded, cu.NoiseScheduler(1000, clip_sample=False), 2, progress=False)  # the right one samples


def test_save_without_a_record_stores_no_process(tmp_path):
    path = cu.save_checkpoint(small_unet(), tmp_path / "m.safetensors")
    assert read_metadata(path)["process"] is None and read_metadata(path)["sample_shape"] == [1, 8, 8]
    model = cu.load_checkpoint(path)
    sample(model, cu.NoiseScheduler(1000), 1, progress=False)  # nothing to compare but T
    with pytest.raises(ValueError, match="T = 1000 timesteps but the scheduler has T = 200"):
        sample(model, cu.NoiseScheduler(200), 1, progress=False)


def test_save_refuses_non_finite_weights_and_a_wrong_process(tmp_path):
    model = small_unet()
    with torch.no_grad():
        model.conv_in.weight[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="conv_in.weight holds NaN"):
        cu.save_checkpoint(model, tmp_path / "m.safetensors")
    with pytest.raises(ValueError, match="num_train_timesteps=1000 but its process has 200"):
        cu.save_checkpoint(small_unet(), tmp_path / "m.safetensors", scheduler=cu.NoiseScheduler(200))


# ----------------------------------------------------------------------------- weights


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("fmt", [FORMAT, "course-utils-checkpoint-1"])
def test_non_finite_weights_are_refused_naming_the_tensor(tmp_path, bad, fmt):
    model = small_unet()
    tensors = weights(model)
    tensors["down2.conv1.bias"][3] = bad
    path = write_checkpoint(tmp_path / "m.safetensors", tensors, model.config, fmt=fmt)
    with pytest.raises(CheckpointError, match=r"the weight down2\.conv1\.bias holds NaN or inf"):
        cu.load_checkpoint(path)


def test_weights_changed_after_saving_are_refused(tmp_path):
    path = saved(tmp_path)
    header, data = split(path)
    data = bytearray(data)
    data[100] ^= 1  # one bit of one weight
    write_header(path, header, bytes(data))
    with pytest.raises(CheckpointError, match="fingerprint does not match.*changed after saving"):
        cu.load_checkpoint(path)


# ----------------------------------------------------------------------------- header edits and damage


@pytest.mark.parametrize("field,value,message", [
    ("config", None, "no 'config' in its header"),
    ("config", "{not json", "'config' is not valid JSON"),
    ("config", "[1, 2]", "config must be a JSON object"),
    ("config", '{"channels": 8}', "unknown architecture None"),
    ("metadata", None, "no 'metadata' in its header"),
    ("metadata", "[]", "metadata must be a JSON object"),
    ("process", None, "no 'process' in its header"),
    ("process", "nope", "'process' is not valid JSON"),
    ("process", "[]", "process record must be a dict"),
    ("process", '{"kind": "blur"}', "unknown process kind 'blur'"),
    ("process", '{"kind": "noise", "num_train_timesteps": 1000}', r"lacks \['beta_schedule'\]"),
    ("process", '{"kind": "noise", "num_train_timesteps": 1000, "beta_schedule": "wavy"}', "beta_schedule"),
    ("process", '{"kind": "noise", "num_train_timesteps": 200, "beta_schedule": "cosine"}',
     "num_train_timesteps=1000 but the process it was trained with has 200"),
    ("sample_shape", "[1, 12, 12]", r"implies examples shaped \[1, 8, 8\] but the model was trained on \[1, 12, 12\]"),
    ("fingerprint", None, "no fingerprint"),
    ("format", None, "not a course checkpoint"),
])
def test_malformed_header_fields_give_checkpoint_error(tmp_path, field, value, message):
    path = saved(tmp_path)
    edit(path, **{field: value})
    with pytest.raises(CheckpointError, match=message):
        cu.load_checkpoint(path)
    with pytest.raises(CheckpointError, match=message):
        read_metadata(path)


@pytest.mark.parametrize("fields", [
    {"process": json.dumps(dict(COSINE, beta_schedule="linear"))},  # another schedule than it was trained with
    {"metadata": json.dumps({"note": "edited"})},
    {"config": None, "sample_shape": None},  # filled in below: another image size, shape edited to match
])
def test_header_edited_after_saving_is_refused(tmp_path, fields):
    path = saved(tmp_path)
    if "config" in fields:
        config = dict(small_unet().config, image_size=12)
        fields = {"config": json.dumps(config), "sample_shape": "[1, 12, 12]"}
    edit(path, **fields)
    with pytest.raises(CheckpointError, match="header .* changed after saving"):
        cu.load_checkpoint(path)


def test_another_image_size_in_the_config_is_refused(tmp_path):
    """The U-Net's weights do not depend on the image size: only the record tells a 12x12 config from an 8x8 one."""
    path = saved(tmp_path)
    edit(path, config=json.dumps(dict(small_unet().config, image_size=12)))
    with pytest.raises(CheckpointError, match=r"implies examples shaped \[1, 12, 12\] but the model was trained "
                                              r"on \[1, 8, 8\]"):
        cu.load_checkpoint(path)


BAD_CONFIG_VALUES = [
    ("channels", "8", "channels must be an int from 8 to 1024, a multiple of 8"),
    ("channels", 8.0, "channels must be"),
    ("channels", True, "channels must be"),
    ("channels", 0, "channels must be"),
    ("channels", -8, "channels must be"),
    ("channels", 12, "channels must be"),
    ("channels", 2**15, "channels must be"),
    ("emb_dim", None, "emb_dim must be"),
    ("image_size", 6, "image_size must be"),
    ("in_channels", 0, "in_channels must be"),
    ("num_train_timesteps", 0, "num_train_timesteps must be"),
    ("num_train_timesteps", 10**9, "num_train_timesteps must be"),
    ("dropout", 1.0, r"dropout must be a number in \[0, 1\)"),
    ("dropout", -0.1, "dropout must be"),
    ("dropout", float("nan"), "dropout must be"),
    ("dropout", "0.1", "dropout must be"),
    ("arch", "Transformer", "unknown architecture 'Transformer'"),
    ("depth", 3, r"unknown fields \['depth'\]"),
]


@pytest.mark.parametrize("field,value,message", BAD_CONFIG_VALUES)
def test_config_values_are_checked(tmp_path, field, value, message):
    path = saved(tmp_path)
    edit(path, config=json.dumps(dict(small_unet().config, **{field: value})))
    with pytest.raises(CheckpointError, match=message):
        cu.load_checkpoint(path)


@pytest.mark.parametrize("field,value", [("hidden", 0), ("layers", 2.5), ("time_dim", 33), ("time_dim", 2),
                                         ("hidden", 10**6)])
def test_point_config_values_are_checked(field, value):
    config = dict(cu.PointDenoiser().config, **{field: value})
    with pytest.raises(CheckpointError, match=f"{field} must be"):
        check_config(config)


def test_missing_config_field(tmp_path):
    config = dict(small_unet().config)
    del config["dropout"]
    with pytest.raises(CheckpointError, match=r"lacks \['dropout'\]"):
        check_config(config)


def test_huge_channels_in_a_small_header_allocate_nothing(tmp_path):
    """channels = 2**15 would be 371 billion weights: the header is compared without building the model."""
    path = saved(tmp_path)
    config = dict(small_unet().config, channels=1024)  # the largest allowed: a meta model, no memory
    header, data = split(path)
    header["__metadata__"]["config"] = json.dumps(config)
    write_header(path, header, data)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tic = time.perf_counter()
    with pytest.raises(CheckpointError, match="does not match its architecture UNet"):
        cu.load_checkpoint(path)
    assert time.perf_counter() - tic < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss < 200_000  # kB: nothing near 1024-channel size
    shapes = config_tensor_shapes(dict(config, channels=1024))
    assert sum(math.prod(s) for s in shapes.values()) > 50_000_000  # what building it would have cost


def test_fifo_and_folder_are_refused_at_once(tmp_path):
    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    result = {}

    def load():
        try:
            cu.load_checkpoint(fifo)
        except CheckpointError as err:
            result["err"] = str(err)

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(20)
    assert not thread.is_alive(), "load_checkpoint blocked on a FIFO"
    assert "not a regular file" in result["err"]
    (tmp_path / "dir.safetensors").mkdir()
    with pytest.raises(CheckpointError, match="not a regular file"):
        cu.load_checkpoint(tmp_path / "dir.safetensors")


@pytest.mark.parametrize("head,message", [
    (struct.pack("<Q", 2**40) + b"{}", "header of 1099511627776 bytes"),
    (struct.pack("<Q", 10**6 + 8) + b" " * (10**6 + 8), "header of 1000008 bytes"),
    (struct.pack("<Q", 4) + b"\xff\xfe{}", "header is not JSON"),
    (struct.pack("<Q", 2) + b"[]", "not a JSON object"),
    (b"abc", "not a readable checkpoint"),
])
def test_absurd_or_damaged_headers(tmp_path, head, message):
    path = tmp_path / "x.safetensors"
    path.write_bytes(head)
    with pytest.raises(CheckpointError, match=message):
        cu.load_checkpoint(path)


def test_padded_file_is_refused(tmp_path):
    path = saved(tmp_path)
    path.write_bytes(path.read_bytes() + b"\0" * 64)
    with pytest.raises(CheckpointError, match="damaged.*truncated or padded"):
        cu.load_checkpoint(path)


def test_wrong_dtype_in_header_is_refused(tmp_path):
    model = small_unet()
    tensors = {k: v.double() for k, v in weights(model).items()}
    path = write_checkpoint(tmp_path / "m.safetensors", tensors, model.config)
    with pytest.raises(CheckpointError, match="expected float32"):
        cu.load_checkpoint(path)


# ----------------------------------------------------------------------------- the first format still loads


def test_first_format_checkpoint_still_loads(tmp_path):
    """A file Lesson 2 saved before the record existed: config and metadata only."""
    model = small_unet()
    path = write_checkpoint(tmp_path / "old.safetensors", weights(model), model.config,
                            fmt="course-utils-checkpoint-1", metadata={"steps": 10, "seconds": 1.0})
    loaded = cu.load_checkpoint(path, expected_arch="UNet")
    x, t = torch.randn(2, 1, 8, 8), torch.tensor([3, 700])
    assert torch.equal(model.eval()(x, t), loaded(x, t))
    assert loaded.trained_on == {"process": None, "sample_shape": [1, 8, 8]}
    with pytest.raises(ValueError, match="T = 1000 timesteps but the scheduler has T = 500"):
        sample(loaded, cu.NoiseScheduler(500), 1, progress=False)
    sched = make_scheduler(loaded, "ddim", 10)
    assert describe_process(sched) == COSINE  # the course's schedule with the model's T


def test_first_format_schedule_in_metadata_is_checked(tmp_path):
    model = small_unet()
    meta = {"schedule": {"num_train_timesteps": 1000, "beta_schedule": "linear"}}
    path = write_checkpoint(tmp_path / "old.safetensors", weights(model), model.config,
                            fmt="course-utils-checkpoint-1", metadata=meta)
    assert cu.load_checkpoint(path).trained_on["process"]["beta_schedule"] == "linear"
    meta = {"schedule": {"num_train_timesteps": 200, "beta_schedule": "cosine"}}
    write_checkpoint(path, weights(model), model.config, fmt="course-utils-checkpoint-1", metadata=meta)
    with pytest.raises(CheckpointError, match="process it was trained with has 200"):
        cu.load_checkpoint(path)


# ----------------------------------------------------------------------------- process records and sample()


def test_describe_process():
    assert describe_process(cu.NoiseScheduler(1000, beta_schedule="cosine")) == COSINE
    assert describe_process(DDIMScheduler(1000, beta_schedule="cosine")) == COSINE  # same process, other sampler
    lin = describe_process(cu.NoiseScheduler(50, beta_start=1e-3, beta_end=0.05))
    assert lin == {"kind": "noise", "num_train_timesteps": 50, "beta_schedule": "linear", "beta_start": 1e-3,
                   "beta_end": 0.05}
    assert check_process(json.loads(json.dumps(lin))) == lin  # survives the header's JSON
    assert describe_process(scheduler_from_process(lin, DDIMScheduler)) == lin
    assert process_differences(COSINE, lin) == ["num_train_timesteps: trained with 1000, given 50",
                                                "beta_schedule: trained with 'cosine', given 'linear'"]
    with pytest.raises(TypeError, match="cannot describe the process of a str"):
        describe_process("cosine")


def test_sample_refuses_another_T_and_another_schedule():
    model = cu.load_checkpoint("digits")
    with pytest.raises(ValueError, match="trained with T = 1000 timesteps but the scheduler has T = 200: make the "
                                         "scheduler with num_train_timesteps=1000"):
        sample(model, cu.NoiseScheduler(200, beta_schedule="cosine"), 2, progress=False)
    with pytest.raises(ValueError, match="another process .*beta_schedule: trained with 'cosine', given 'linear'.*"
                                         "beta_schedule='cosine'"):
        sample(model, DDIMScheduler(1000), 2, progress=False)
    with pytest.raises(ValueError, match="trained with T = 1000"):
        spread_between_runs(model, cu.NoiseScheduler(200, beta_schedule="cosine"), 2)


def test_sample_accepts_numpy_integers_and_refuses_bools():
    model = cu.load_checkpoint("points")
    sched = DDIMScheduler(1000, beta_schedule="cosine", clip_sample=False)
    sched.set_timesteps(2)
    for n in (np.int64(3), np.int32(3), np.uint8(3)):
        x = sample(model, sched, n, generator=torch.Generator().manual_seed(0), progress=False)
        assert x.shape == (3, 2)
    for n in (True, np.bool_(True), 2.0, np.float64(2), "2", np.int64(0)):
        with pytest.raises(ValueError, match="n \\(how many samples\\) must be a positive int"):
            sample(model, sched, n, progress=False)


# ----------------------------------------------------------------------------- the command line


def test_cli_default_grid_starts_one_stride_below_T_minus_1():
    """below_top (review part 3): T - T/n, ..., 0 for every --steps; --spacing trailing still starts at T-1."""
    model = cu.load_checkpoint("digits")
    for sampler in ("ddim", "ddpm"):
        for steps in range(1, 1001):
            ts = make_scheduler(model, sampler, steps).timesteps
            assert int(ts[0]) == round(1000 - 1000 / steps) and len(ts) == steps, (sampler, steps)
            assert bool((ts[1:] < ts[:-1]).all()) and int(ts[-1]) == 0, (sampler, steps)
    for steps in (1, 7, 50, 501):
        assert int(make_scheduler(model, "ddim", steps, "trailing").timesteps[0]) == 999
    leading = make_scheduler(model, "ddim", 501, "leading").timesteps
    assert int(leading[0]) == 500  # what --spacing leading does: starts far below T-1
    assert int(make_scheduler(model, "ddim", 501).timesteps[0]) == 998


def test_cli_help_names_the_spacing(capsys):
    with pytest.raises(SystemExit):
        cli_main(["--help"])
    out = capsys.readouterr().out
    assert "--spacing {below_top,trailing,leading}" in out and "Lin et al." in out


def cli_error(capsys, *args) -> str:
    rc = cli_main(["--n", "2", "--steps", "2", *args])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_cli_refuses_bad_out_before_sampling(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def no_sampling(*a, **k):
        raise AssertionError("sampled before checking --out")

    monkeypatch.setattr("course_utils.sample.sample", no_sampling)
    (tmp_path / "folder").mkdir()
    assert "is a folder" in cli_error(capsys, "--out", "folder")
    assert "is a folder" in cli_error(capsys, "--out", str(tmp_path / "folder") + "/")
    assert "is a folder" in cli_error(capsys, "--out", "new_folder/")
    assert not (tmp_path / "folder.npy").exists() and not (tmp_path / "folder.png").exists()
    assert "--out is empty" in cli_error(capsys, "--out", "")
    assert "cannot write to the folder /proc" in cli_error(capsys, "--out", "/proc/samples.npy")
    (tmp_path / "file.txt").write_text("x")
    assert "cannot write to the folder" in cli_error(capsys, "--out", "file.txt/samples.npy")
    (tmp_path / "taken.png").mkdir()
    assert "taken.png exists and is not a file" in cli_error(capsys, "--out", "taken.npy")
    os.mkfifo(tmp_path / "pipe.safetensors")
    assert "not a regular file" in cli_error(capsys, "--checkpoint", "pipe.safetensors")


@pytest.mark.parametrize("seed", ["-1", str(2**63), str(2**70)])
def test_cli_seed_out_of_range_is_an_argparse_error(tmp_path, capsys, seed):
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["--seed", seed, "--out", str(tmp_path / "s.npy")])
    assert exit_info.value.code == 2
    assert "--seed must be between 0 and 2**63-1" in capsys.readouterr().err


def test_cli_largest_seed_and_spacing_run(tmp_path, capsys):
    for spacing in ("below_top", "trailing", "leading"):
        out = tmp_path / f"{spacing}.npy"
        assert cli_main(["--n", "2", "--steps", "3", "--seed", str(2**63 - 1), "--spacing", spacing,
                         "--out", str(out)]) == 0
        assert np.load(out).shape == (2, 1, 8, 8)
    out = capsys.readouterr().out
    assert "(trailing)" in out and "(below_top)" in out


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes into read-only folders")
def test_cli_refuses_a_read_only_folder(tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        assert "cannot write to the folder" in cli_error(capsys, "--out", str(folder / "s.npy"))
    finally:
        folder.chmod(0o700)
