"""Generate a synthetic digest archive for benchmarks.

    python benchmarks/corpus.py OUT_DIR --days 365 [--papers 8000] [--seed 1]

Writes ``OUT_DIR/YYYY/MM/DD.md`` files in the published format, with the
variants real archives have (labelled bullets, nested and numbered lists,
video thumbnails, ``Vote: -``, TeX titles, papers repeated on later days),
Korean and English text, and about ``papers / days`` papers a day.  The same
arguments always give the same bytes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
from pathlib import Path

KO_WORDS = ("대규모 언어 모델 학습 데이터 성능 향상 제안 방법 실험 결과 추론 효율 "
            "벤치마크 정렬 강화학습 이미지 생성 비디오 멀티모달 에이전트 평가 토큰 "
            "압축 확산 모델 일반화 정확도 로봇 계획 검색 증강 메모리").split()
EN_WORDS = ("large language model training data performance method experiment results "
            "inference efficiency benchmark alignment reinforcement learning image "
            "generation video multimodal agent evaluation token compression diffusion "
            "generalization accuracy robot planning retrieval memory").split()
TITLE_WORDS = ("Scaling Sparse Efficient Unified Vision Language Diffusion Agents Reasoning "
               "Memory Retrieval Video Tokens Transformers Alignment Benchmark Learning "
               "Towards Robust Fast Open World Models Planning").split()
LABELS = ("What's New", "Technical Details", "Performance Highlights")
SURNAMES = ("Kim Lee Park Choi Jung Kang Cho Yoon Jang Lim Wang Li Zhang Liu Chen Yang Huang "
            "Zhao Wu Zhou Smith Johnson Garcia Müller Martin Rossi Tanaka Sato Suzuki Singh").split()


def sentence(rng: random.Random, korean: bool) -> str:
    words = KO_WORDS if korean else EN_WORDS
    text = " ".join(rng.choice(words) for _ in range(rng.randint(12, 28)))
    roll = rng.random()
    if roll < 0.10:
        text += f" (**{rng.choice(words)}**)"
    elif roll < 0.15:
        # As published: the URL stands between spaces ("... https://... 에서 공개").
        url = f"https://github.com/example/{rng.choice(TITLE_WORDS).lower()}"
        text += f" {url} 에서 공개" if korean else f" (code: {url} )"
    elif roll < 0.18:
        text += " 지연 시간 (<0.5초) & 메모리"
    return text + ("다." if korean else ".")


def title(rng: random.Random, n: int) -> str:
    words = [rng.choice(TITLE_WORDS) for _ in range(rng.randint(3, 9))]
    if n % 53 == 0:
        words[0] = "M$^{2}$" + words[0]
    if n % 71 == 0:
        words.append("with Q&A <Tests>")
    return f"{words[0]}: " + " ".join(words[1:])


def paper_block(rng: random.Random, arxiv_id: str, ttl: str, korean: bool) -> str:
    out = [f"### [{ttl}](https://arxiv.org/abs/{arxiv_id})", ""]
    roll = rng.random()
    if roll < 0.08:
        url = f"https://cdn.example.org/video/{arxiv_id}.mp4"
        out += [f"[Watch Video]({url})",
                f'<div><video controls src="{url}" muted="false"></video></div>', ""]
    elif roll < 0.95:
        out += [f"![](https://cdn.example.org/thumbs/{arxiv_id}.png)", ""]
    # Votes spread as the Hub's do: most papers a handful (median about 7), about one in five
    # 20 or more, a few hundreds.
    out += [f"Vote: {min(int(rng.lognormvariate(2.0, 1.1)), 999) if rng.random() > 0.03 else '-'}", ""]
    authors = ", ".join(f"{rng.choice('KLPJCSHMY')}. {rng.choice(SURNAMES)}" for _ in range(rng.randint(1, 12)))
    out += [f"Authors: {authors}", ""]
    if rng.random() < 0.3:
        for label in LABELS:
            out.append(f"- ***{label}***: {sentence(rng, korean)}")
    else:
        for i in range(rng.randint(3, 6)):
            out.append(f"- {sentence(rng, korean)}")
            if i == 1 and rng.random() < 0.15:
                out.append(f"  - (1) {sentence(rng, korean)}")
                out.append(f"  - (2) {sentence(rng, korean)}")
    out.append("")
    return "\n".join(out)


def generate(out_dir: Path, days: int, papers: int, seed: int = 1,
             start: dt.date = dt.date(2024, 1, 1)) -> list[Path]:
    rng = random.Random(seed)
    per_day = papers / days
    written: list[Path] = []
    serial = 0
    recent: list[tuple[str, str]] = []
    for day in range(days):
        date = start + dt.timedelta(days=day)
        n = int(per_day * (day + 1)) - int(per_day * day)
        korean = rng.random() < 0.8
        blocks = [f"## Daily Papers ({date.isoformat()})", ""]
        for _ in range(n):
            if recent and rng.random() < 0.02:
                arxiv_id, ttl = rng.choice(recent)  # the same paper on a later day
            else:
                serial += 1
                arxiv_id = f"{date:%y%m}.{serial % 100000:05d}"
                ttl = title(rng, serial)
                recent = (recent + [(arxiv_id, ttl)])[-200:]
            blocks.append(paper_block(rng, arxiv_id, ttl, korean))
        path = out_dir / f"{date:%Y}" / f"{date:%m}" / f"{date:%d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(blocks), encoding="utf-8")
        written.append(path)
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--papers", type=int, default=None, help="default: 22 a day")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    papers = args.papers if args.papers is not None else round(args.days * 8000 / 365)
    files = generate(args.out_dir, args.days, papers, args.seed)
    print(f"wrote {len(files)} files to {args.out_dir}")


if __name__ == "__main__":
    main()
