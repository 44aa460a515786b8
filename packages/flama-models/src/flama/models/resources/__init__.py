"""Model resources: what serves one model under a path (predictive models here; flama-llm adds language models)."""

from flama.models.resources.base import ModelResource

__all__ = ["ModelResource"]
