"""Generated stand-ins for the datasets the SDK's notebooks download, with the same column names and dtypes."""

from __future__ import annotations

import numpy as np
import pandas as pd

# IBM HR attrition (WA_Fn-UseC_-HR-Employee-Attrition.csv): column -> categories (object) or (low, high) (int64)
_ATTRITION_COLUMNS: dict[str, list[str] | tuple[int, int]] = {
    "Age": (18, 60),
    "Attrition": ["Yes", "No"],
    "BusinessTravel": ["Travel_Rarely", "Travel_Frequently", "Non-Travel"],
    "DailyRate": (102, 1499),
    "Department": ["Sales", "Research & Development", "Human Resources"],
    "DistanceFromHome": (1, 29),
    "Education": (1, 5),
    "EducationField": ["Life Sciences", "Other", "Medical", "Marketing", "Technical Degree", "Human Resources"],
    "EmployeeCount": (1, 1),
    "EmployeeNumber": (1, 2068),
    "EnvironmentSatisfaction": (1, 4),
    "Gender": ["Female", "Male"],
    "HourlyRate": (30, 100),
    "JobInvolvement": (1, 4),
    "JobLevel": (1, 5),
    "JobRole": ["Sales Executive", "Research Scientist", "Laboratory Technician", "Manager"],
    "JobSatisfaction": (1, 4),
    "MaritalStatus": ["Single", "Married", "Divorced"],
    "MonthlyIncome": (1009, 19999),
    "MonthlyRate": (2094, 26999),
    "NumCompaniesWorked": (0, 9),
    "Over18": ["Y"],
    "OverTime": ["Yes", "No"],
    "PercentSalaryHike": (11, 25),
    "PerformanceRating": (3, 4),
    "RelationshipSatisfaction": (1, 4),
    "StandardHours": (80, 80),
    "StockOptionLevel": (0, 3),
    "TotalWorkingYears": (0, 40),
    "TrainingTimesLastYear": (0, 6),
    "WorkLifeBalance": (1, 4),
    "YearsAtCompany": (0, 40),
    "YearsInCurrentRole": (0, 18),
    "YearsSinceLastPromotion": (0, 15),
    "YearsWithCurrManager": (0, 17),
}


def attrition_frame(n_rows: int = 200, seed: int = 0) -> pd.DataFrame:
    """A DataFrame shaped like the IBM HR attrition data; ``Attrition`` depends on OverTime, income and age."""
    rng = np.random.default_rng(seed)
    columns = {}
    for name, spec in _ATTRITION_COLUMNS.items():
        if isinstance(spec, list):
            columns[name] = rng.choice(np.array(spec, dtype=object), size=n_rows)
        else:
            columns[name] = rng.integers(spec[0], spec[1] + 1, size=n_rows).astype(np.int64)
    frame = pd.DataFrame(columns)
    frame = _object_strings(frame)
    score = (
        1.5 * (frame["OverTime"] == "Yes")
        - frame["MonthlyIncome"] / 6000.0
        - (frame["Age"] - 35) / 10.0
        + rng.normal(0.0, 0.5, n_rows)
    )
    frame["Attrition"] = pd.Series(np.where(score > np.median(score), "Yes", "No"), dtype=object)
    return frame


def titanic_frame(n_rows: int = 200, seed: int = 0) -> pd.DataFrame:
    """A DataFrame shaped like titanic3.csv's columns the notebooks use (after their ffill/bfill)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "pclass": rng.integers(1, 4, n_rows).astype(np.int64),
            "sex": rng.choice(np.array(["male", "female"], dtype=object), n_rows),
            "age": rng.uniform(1.0, 80.0, n_rows).round(1),
            "fare": rng.gamma(2.0, 15.0, n_rows).round(2),
            "embarked": rng.choice(np.array(["S", "C", "Q"], dtype=object), n_rows),
        }
    )
    frame = _object_strings(frame)
    score = 2.0 * (frame["sex"] == "female") - 0.8 * frame["pclass"] - 0.02 * frame["age"] + frame["fare"] / 50
    frame["survived"] = (score + rng.normal(0, 0.5, n_rows) > np.median(score)).astype(np.int64)
    return frame


def _object_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """String columns as ``object``, as ``pd.read_csv`` gave them to the notebooks (pandas 3 infers ``str``)."""
    for name in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[name]):
            frame[name] = frame[name].astype(object)
    return frame


CALIFORNIA_FEATURES = ["MedInc", "HouseAge", "AveRooms", "AveBedrms", "Population", "AveOccup", "Latitude",
                       "Longitude"]


def california_housing(n_rows: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``fetch_california_housing()``'s schema (8 float columns, its feature names) and a smooth target."""
    rng = np.random.default_rng(seed)
    data = np.column_stack([
        rng.gamma(4.0, 1.0, n_rows),          # MedInc
        rng.integers(1, 53, n_rows),          # HouseAge
        rng.normal(5.4, 1.0, n_rows),         # AveRooms
        rng.normal(1.1, 0.1, n_rows),         # AveBedrms
        rng.gamma(2.0, 700.0, n_rows),        # Population
        rng.normal(3.0, 0.5, n_rows),         # AveOccup
        rng.uniform(32.5, 42.0, n_rows),      # Latitude
        rng.uniform(-124.3, -114.3, n_rows),  # Longitude
    ]).astype(np.float64)
    target = 0.4 * data[:, 0] + 0.01 * data[:, 1] - 0.1 * (data[:, 6] - 35) + rng.normal(0, 0.2, n_rows)
    return data, target, list(CALIFORNIA_FEATURES)


BOSTON_FEATURES = ["CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE", "DIS", "RAD", "TAX", "PTRATIO", "B", "LSTAT"]


def boston_housing(n_rows: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``load_boston()``'s schema (13 float columns, its feature names; removed from scikit-learn) and a target."""
    rng = np.random.default_rng(seed)
    data = np.column_stack([
        rng.gamma(0.5, 7.0, n_rows), rng.choice([0.0, 12.5, 25.0, 80.0], n_rows), rng.uniform(0.5, 27.7, n_rows),
        rng.integers(0, 2, n_rows), rng.uniform(0.38, 0.87, n_rows), rng.normal(6.3, 0.7, n_rows),
        rng.uniform(3.0, 100.0, n_rows), rng.uniform(1.1, 12.1, n_rows), rng.integers(1, 25, n_rows),
        rng.uniform(187.0, 711.0, n_rows), rng.uniform(12.6, 22.0, n_rows), rng.uniform(0.3, 396.9, n_rows),
        rng.uniform(1.7, 38.0, n_rows),
    ]).astype(np.float64)
    target = 9.0 * data[:, 5] - 0.6 * data[:, 12] - 0.1 * data[:, 0] - 30.0 + rng.normal(0, 2.0, n_rows)
    return data, target, list(BOSTON_FEATURES)
