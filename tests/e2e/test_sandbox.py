"""The sandbox day: `fieldbot run` without a token plays it and exits 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_run_without_token_plays_the_sandbox_day(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("FIELDBOT_TOKEN", None)
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(ROOT / "config.example.toml"), "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert out.splitlines()[0].startswith("No bot token")
    assert "注册成功" in out
    assert "已将「成都服务站调度群」设为调度群" in out
    assert "仅供服务站员工使用" in out  # the stranger's refusal
    out_dir = tmp_path / "sandbox-out"
    assert (out_dir / "fieldbot-2026-11.xlsx").stat().st_size > 0
    assert (out_dir / "summary-2026-11.png").read_bytes()[:4] == b"\x89PNG"
    assert "2026-11 月度汇总" in out
    # dispatch and visits through the same real application
    assert "派工单 #2" in out and "已接单" in out
    assert "不能使用转发的位置" in out
    assert "回执单 #1 已完整" in out and "还缺：客户签字照片" in out
    assert "需要再次上门" in out and "ALW-UNSETTLED" in out
    # the customer files a complaint about that visit from their own phone
    assert "已收到您的投诉，编号 #1" in out and "客户自报投诉 #1" in out
    # a machine taken back through chat: its voucher (number, QR, PDF), day 3, day 10, sign-off
    assert "凭证号 FX-20261116-0001" in out
    assert "客户扫此二维码可随时查看维修进度" in out and "返修凭证，可打印交给客户" in out
    assert "寄出已到第三天" in out and "已到第 10 天仍未返还（RMA-10DAY）" in out
    assert "已记录原因，新的预计日期 2026-11-27" in out
    assert "现在是「已交还客户」" in out
    # the repair desk: a spare lent against a receipt and returned, a complaint upheld, /policy
    assert "已借出：借用 #1" in out and "借用 #1 已归还" in out
    assert "投诉 #2 处理结果：成立" in out and "（DED-COMPLAINT）" in out
    assert "政策查询：本地公司" in out and "POL-OPENED" in out
    # a paid repair at the station: the fee asked at the return, the share on /me
    assert "请登记收费和配件成本" in out
    assert "RWD-REVENUE 16.45 效益提成" in out and "效益 164.50 元的 10%" in out
    assert "投诉成立 1（李娜 1）" in out  # in the month's summary
