"""What reading one `.flm` file may cost: decompressed sizes, entry counts, and so temporary disk.

Every section is decompressed a chunk at a time (never more than 1 MiB per step, whatever the compression ratio) and
counted as it comes: a section passing its cap stops the read with `LimitExceeded` before the next chunk. Everything
`load` decompresses, except the metadata, is written to its temporary directory, so the caps on the sections bound
the temporary disk a load takes.
"""

import dataclasses
from typing import Final

from flama.models.exceptions import LimitExceeded

__all__ = ["DEFAULT_LIMITS", "Budget", "Limits"]

_RATIO_SLACK: Final = 1 << 20  # a small section may expand past the ratio by this much (tar headers, empty files)


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    """Caps on what reading a `.flm` file may decompress and create; every refusal names the cap it hit.

    Attributes:
        max_meta_size: Bytes of the decompressed metadata document (a real one is a few KB; its JSON is parsed in
            memory, so this also bounds the memory that parsing takes).
        max_section_size: Decompressed bytes of one artifact or of the model payload.
        max_total_size: Decompressed bytes of all artifacts and the payload together: the temporary disk one load
            may write. A file that declares its sections' sizes (this library writes them) is held to exactly those,
            so its load takes no more disk than it declares.
        max_ratio: How many times its compressed size a section may expand to (plus 1 MiB): this bounds what a small
            file can unpack, also when it declares no sizes (files from Flama 2.x) or declares false ones.
        max_artifacts: Artifacts in one file.
        max_bundle_entries: Entries (files and folders) in a bundle's tar archive.

    Raises:
        ValueError: When a cap is not a positive integer.
    """

    max_meta_size: int = 1 << 20
    max_section_size: int = 64 << 30
    max_total_size: int = 64 << 30
    max_ratio: int = 1000
    max_artifacts: int = 1000
    max_bundle_entries: int = 10_000

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{field.name} must be a positive integer, got {value!r}")


DEFAULT_LIMITS: Final = Limits()


class Budget:
    """What one read of a file has decompressed so far, against its `Limits`.

    Args:
        limits: The caps.
    """

    __slots__ = ("limits", "used")

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.used = 0

    def section_cap(self, compressed: int) -> tuple[str, int, int]:
        """The cap on a section of ``compressed`` bytes: (the limit's name, its configured value, bytes allowed)."""
        by_ratio = self.limits.max_ratio * compressed + _RATIO_SLACK
        if by_ratio < self.limits.max_section_size:
            return "max_ratio", self.limits.max_ratio, by_ratio
        return "max_section_size", self.limits.max_section_size, self.limits.max_section_size

    def add(self, size: int, where: str) -> None:
        """Count ``size`` more decompressed bytes.

        Raises:
            LimitExceeded: When the total passes ``max_total_size``.
        """
        self.used += size
        if self.used > self.limits.max_total_size:
            raise LimitExceeded("max_total_size", self.limits.max_total_size, where, "the file decompresses to more")
