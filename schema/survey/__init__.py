"""GraphQL of surveys: templates, selection rules, results and their intake."""
from schema.part import SchemaPart
from schema.survey import types
from schema.survey.loaders import LOADERS
from schema.survey.mutations import SurveyMutation
from schema.survey.queries import SurveyQuery

PART = SchemaPart(queries=(SurveyQuery,), mutations=(SurveyMutation,),
                  types=(types.SurveyResult, types.SurveyTemplate, types.SelectionRule, types.SurveyResultImport), loaders=LOADERS)
